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
 * decoded (`decodeRecord`) just before it is added exactly as IngestStream adds one, with its own
 * bytes (for the fingerprint) and its own offset, so an undecodable record is rejected at its
 * offset and the rest of its message is stored. A message whose list of records cannot be read
 * ends the stream: no later offset could be trusted.
 */
export function batchFeed(
  decodeRecord: (bytes: Uint8Array) => RecordMessage,
): StreamFeed<BatchMessage> {
  const feedFrom = (
    session: StreamSession,
    parts: readonly Uint8Array[],
    from: number,
  ): Promise<void> | undefined => {
    for (let i = from; i < parts.length; i++) {
      const wait = feedRecord(decodeRecord(parts[i] as Uint8Array), session);
      // Only the record that completes a batch waits; the rest of the message follows it.
      if (wait) return wait.then(() => feedFrom(session, parts, i + 1));
    }
    return undefined;
  };
  return (message, session) => {
    // The message's bytes, undecoded (the type is deferred; see request-decoders.ts).
    const parts = batchRecords(message.bytes);
    if (parts === undefined) {
      throw new MalformedBatchError(
        "message is not an IngestBatchStreamRequest: its list of records cannot be read; nothing of it was stored",
      );
    }
    return feedFrom(session, parts, 0);
  };
}
