import {
  IngestBatchStreamRequestSchema,
  type IngestRequest,
  IngestRequestSchema,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { DecodeFailure, type FastDecoder, Received } from "../grpc/service-adapter.js";
import { decodeIngestRequest } from "../protobuf/ingest-request-decoder.js";
import { fromBinaryStrict } from "../protobuf/strict-decode.js";

/**
 * How the ingest service's requests are decoded. Every unary request and streamed record is an
 * IngestRequest, decoded by its schema-specific decoder before protobuf-es. A batch message
 * reaches the handler undecoded: it decodes each record just before adding it (`decodeRecord`),
 * so a waiting batch is bytes, not hundreds of decoded sales, and a malformed record costs only
 * itself; whoever reads a batch's `message` gets protobuf-es' decoding of it.
 */
export const INGEST_DECODING: {
  readonly fastDecoders: ReadonlyMap<string, FastDecoder>;
  readonly deferred: ReadonlySet<string>;
} = {
  fastDecoders: new Map<string, FastDecoder>([[IngestRequestSchema.typeName, decodeIngestRequest]]),
  deferred: new Set([IngestBatchStreamRequestSchema.typeName]),
};

/**
 * One record of a batch message, decoded as an IngestStream message is (the fast decoder, then
 * protobuf-es), so it fares exactly as it would have alone.
 */
export function decodeRecord(bytes: Uint8Array): Received<IngestRequest> | DecodeFailure {
  try {
    return new Received(
      decodeIngestRequest(bytes) ?? fromBinaryStrict(IngestRequestSchema, bytes),
      bytes,
    );
  } catch (err) {
    return new DecodeFailure(err, bytes);
  }
}
