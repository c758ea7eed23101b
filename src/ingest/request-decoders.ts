import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { FastDecoder } from "../grpc/service-adapter.js";
import { decodeIngestRequest } from "../protobuf/ingest-request-decoder.js";

/**
 * The ingest service's fast decoders, by message type name: every unary request and streamed
 * record is an IngestRequest, decoded by its schema-specific decoder before protobuf-es.
 */
export const INGEST_DECODERS: ReadonlyMap<string, FastDecoder> = new Map([
  [IngestRequestSchema.typeName, decodeIngestRequest],
]);
