import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  Server,
  ServerCredentials,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  type IngestResponse,
  IngestResponseSchema,
  IngestService,
  type IngestStreamResponse,
  IngestStreamResponseSchema,
  Outcome,
} from "../gen/pos/ingest/v1/ingest_pb.js";
import {
  DecodeFailure,
  type Received,
  toGrpcServiceDefinition,
} from "../src/grpc/service-adapter.js";
import { decodeRecord, INGEST_DECODING } from "../src/ingest/request-decoders.js";
import { batchRecords } from "../src/protobuf/batch-records.js";

/**
 * The transport ceiling: a bare grpc-js server in its own process that serves the same
 * IngestService definition as the real server (same protobuf-es decoding of every request, same
 * response encoding) but does nothing else — no auth, validation or storage. Prints
 * `{"port":N}` once listening; SIGTERM stops it.
 */
const server = new Server({
  "grpc.max_receive_message_length": 1024 * 1024,
  "grpc.max_concurrent_streams": 100,
});
server.addService(
  toGrpcServiceDefinition(IngestService, INGEST_DECODING.fastDecoders, INGEST_DECODING.deferred),
  {
    ingest(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<IngestResponse>) {
      if (call.request instanceof DecodeFailure) {
        callback({ code: status.INVALID_ARGUMENT, details: "malformed" });
        return;
      }
      callback(
        null,
        create(IngestResponseSchema, {
          recordId: randomUUID(),
          outcome: Outcome.ACCEPTED,
          acceptedAt: timestampNow(),
          idempotencyKey: String(call.metadata.get("idempotency-key")[0] ?? ""),
        }),
      );
    },
    ingestStream(
      call: ServerReadableStream<unknown, unknown>,
      callback: sendUnaryData<IngestStreamResponse>,
    ) {
      let received = 0n;
      call.on("data", () => {
        received++;
      });
      call.on("end", () =>
        callback(null, create(IngestStreamResponseSchema, { received, accepted: received })),
      );
    },
    // The same stream, many records per message, decoded record by record as the service does.
    ingestBatchStream(
      call: ServerReadableStream<unknown, unknown>,
      callback: sendUnaryData<IngestStreamResponse>,
    ) {
      let received = 0n;
      call.on("data", (message: Received<unknown> | DecodeFailure) => {
        for (const part of batchRecords(message.bytes) ?? []) {
          decodeRecord(part);
          received++;
        }
      });
      call.on("end", () =>
        callback(null, create(IngestStreamResponseSchema, { received, accepted: received })),
      );
    },
  },
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ port })}\n`);
