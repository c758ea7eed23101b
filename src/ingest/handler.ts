import type { ServerReadableStream, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import type {
  IngestResponse,
  IngestService as IngestServiceDesc,
  IngestStreamResponse,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { GrpcServiceImpl } from "../grpc/typed-service.js";
import type { Logger } from "../observability/logger.js";
import { toIngestResponse } from "./mapping.js";
import { readIdempotencyKey, unaryIdempotencyKey } from "./metadata.js";
import { saleBytesOf } from "./request-bytes.js";
import { decodeRecord } from "./request-decoders.js";
import type { IngestService } from "./service.js";
import { createStreamCalls, type StreamBounds } from "./stream-call.js";
import { type BatchMessage, batchFeed, feedRecord, type RecordMessage } from "./stream-feed.js";
import { answerUnary } from "./unary-call.js";

/** The ingest handlers, and the means to end open streams when shutdown runs out of time. */
export interface IngestHandlers {
  readonly implementation: GrpcServiceImpl<typeof IngestServiceDesc>;
  /** Ends every open stream with UNAVAILABLE; nothing uncommitted is acknowledged. */
  abortStreams(): void;
}

/**
 * The gRPC face of the ingest service: reads metadata, authenticates, maps proto to domain and
 * back, turns every failure into a precise status, and logs one line per call (no sale contents,
 * no keys, no customer data). Calls before `isReady()` (the app's start-up has finished) get
 * UNAVAILABLE, so the port can be bound (and probed) while the database is still coming up.
 */
export function createIngestHandlers(options: {
  service: IngestService;
  authenticator: Authenticator;
  isReady: () => boolean;
  logger: Logger;
  streams: StreamBounds;
  onStreamFinished?: Parameters<typeof createStreamCalls>[0]["onStreamFinished"];
}): IngestHandlers {
  const { service } = options;
  const streamCalls = createStreamCalls(options);
  const feedBatch = batchFeed(decodeRecord);

  const ingest = (
    call: ServerUnaryCall<RecordMessage, IngestResponse>,
    callback: sendUnaryData<IngestResponse>,
  ): Promise<void> =>
    answerUnary(options, "Ingest", call, callback, async (tenant, request) => {
      const key = unaryIdempotencyKey(
        readIdempotencyKey(call.metadata),
        request.message.idempotencyKey,
      );
      const result = await service.ingest(
        tenant,
        request.message.sale,
        key,
        saleBytesOf(request.bytes),
      );
      // The sale is stored either way; the log line says whether the client heard about it.
      return { response: toIngestResponse(result), logFields: { outcome: result.outcome } };
    });

  const ingestStream = (
    call: ServerReadableStream<RecordMessage, IngestStreamResponse>,
    callback: sendUnaryData<IngestStreamResponse>,
  ): Promise<void> => streamCalls.answerStream("IngestStream", call, callback, feedRecord);

  const ingestBatchStream = (
    call: ServerReadableStream<BatchMessage, IngestStreamResponse>,
    callback: sendUnaryData<IngestStreamResponse>,
  ): Promise<void> => streamCalls.answerStream("IngestBatchStream", call, callback, feedBatch);

  return {
    implementation: { ingest, ingestStream, ingestBatchStream },
    abortStreams: streamCalls.abortStreams,
  };
}
