import type { IngestBatchStreamRequest, IngestRequest } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { MalformedBatchError } from "../errors.js";
import { DecodeFailure, type Received } from "../grpc/service-adapter.js";
import { batchRecords } from "../protobuf/batch-records.js";
import type { StreamSession } from "./model.js";
import { saleBytesOf } from "./request-bytes.js";
import type { StreamFeed } from "./stream-call.js";

/** A received IngestStream message: one record, or bytes that are not one. */
export type RecordMessage = Received<IngestRequest> | DecodeFailure;
/** A received IngestBatchStream message. */
export type BatchMessage = Received<IngestBatchStreamRequest> | DecodeFailure;

/** IngestStream: every message is the stream's next record. */
export const feedRecord: StreamFeed<RecordMessage> = (message, session) =>
  message instanceof DecodeFailure
    ? session.addMalformed("message could not be decoded")
    : session.add(message.message.sale, saleBytesOf(message.bytes), message.message.idempotencyKey);

/**
 * IngestBatchStream: every message's records, in order, are the stream's next records, each
 * added exactly as IngestStream adds one, with its own bytes (for the fingerprint) and its own
 * offset. A message that did not decode as a whole is taken record by record with
 * `decodeRecord`, so only the records that are malformed are rejected; one whose list of records
 * cannot be read ends the stream (no later offset could be trusted).
 */
export function batchFeed(
  decodeRecord: (bytes: Uint8Array) => RecordMessage,
): StreamFeed<BatchMessage> {
  return (message, session) => {
    // The records' own bytes: the decoded message does not keep them.
    const parts = batchRecords(message.bytes);
    if (parts === undefined) {
      throw new MalformedBatchError(
        "message is not an IngestBatchStreamRequest: its list of records cannot be read; nothing of it was stored",
      );
    }
    if (message instanceof DecodeFailure || message.message.records.length !== parts.length) {
      return feedEach(session, parts.map(decodeRecord), 0);
    }
    return feedDecoded(session, message.message.records, parts, 0);
  };
}

function feedDecoded(
  session: StreamSession,
  records: readonly IngestRequest[],
  parts: readonly Uint8Array[],
  from: number,
): Promise<void> | undefined {
  for (let i = from; i < records.length; i++) {
    const record = records[i] as IngestRequest;
    const wait = session.add(
      record.sale,
      saleBytesOf(parts[i] as Uint8Array),
      record.idempotencyKey,
    );
    // Only the record that completes a batch waits; the rest of the message follows it.
    if (wait) return wait.then(() => feedDecoded(session, records, parts, i + 1));
  }
  return undefined;
}

function feedEach(
  session: StreamSession,
  records: readonly RecordMessage[],
  from: number,
): Promise<void> | undefined {
  for (let i = from; i < records.length; i++) {
    const wait = feedRecord(records[i] as RecordMessage, session);
    if (wait) return wait.then(() => feedEach(session, records, i + 1));
  }
  return undefined;
}
