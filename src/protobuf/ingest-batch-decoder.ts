import type { IngestBatchStreamRequest, IngestRequest } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { batchRecords } from "./batch-records.js";
import { decodeIngestRequest } from "./ingest-request-decoder.js";

/**
 * The schema-specific decoder of an IngestBatchStreamRequest: its records, each decoded by
 * {@link decodeIngestRequest}. Declines (undefined) when the list cannot be read or any record is
 * outside that decoder's shape; protobuf-es then decodes the whole message, and the handler
 * takes the records one by one when even that fails, so a malformed record costs only itself.
 */
export function decodeIngestBatch(bytes: Uint8Array): IngestBatchStreamRequest | undefined {
  const parts = batchRecords(bytes);
  if (parts === undefined) return undefined;
  const records: IngestRequest[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const record = decodeIngestRequest(parts[i] as Uint8Array);
    if (record === undefined) return undefined;
    records[i] = record;
  }
  return { $typeName: "pos.ingest.v1.IngestBatchStreamRequest", records };
}
