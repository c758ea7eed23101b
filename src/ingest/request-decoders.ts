import {
  IngestBatchStreamRequestSchema,
  type IngestRequest,
  IngestRequestSchema,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { DecodeFailure, type FastDecoder, Received } from "../grpc/service-adapter.js";
import { decodeIngestBatch } from "../protobuf/ingest-batch-decoder.js";
import { decodeIngestRequest } from "../protobuf/ingest-request-decoder.js";
import { fromBinaryStrict } from "../protobuf/strict-decode.js";

/**
 * The ingest service's fast decoders, by message type name: every unary request and streamed
 * record is an IngestRequest, decoded by its schema-specific decoder before protobuf-es; a batch
 * message is a list of them.
 */
export const INGEST_DECODERS: ReadonlyMap<string, FastDecoder> = new Map<string, FastDecoder>([
  [IngestRequestSchema.typeName, decodeIngestRequest],
  [IngestBatchStreamRequestSchema.typeName, decodeIngestBatch],
]);

/**
 * One record of a batch message that protobuf-es could not decode as a whole: the fast decoder,
 * then protobuf-es, as for an IngestStream message, so the record fares exactly as it would have
 * alone.
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
