import { Code, ConnectError } from "@connectrpc/connect";
import type { IngestStreamResponse } from "../../gen/pos/ingest/v1/ingest_pb.js";
import {
  type BatchInit,
  batchMessages,
  type MessageGrouping,
  type RequestInit,
  type StreamRecord,
  singleRecords,
} from "./batch-messages.js";

/** The two stream RPCs, each opened with a stream key and a signal. */
export interface StreamCalls {
  /** IngestStream: one record per message. */
  readonly ingestStream: (
    requests: AsyncIterable<RequestInit>,
    streamKey: string,
    signal: AbortSignal,
  ) => Promise<IngestStreamResponse>;
  /** IngestBatchStream: consecutive records per message. */
  readonly ingestBatchStream: (
    messages: AsyncIterable<BatchInit>,
    streamKey: string,
    signal: AbortSignal,
  ) => Promise<IngestStreamResponse>;
}

/** Sends one stream's records under `streamKey`, grouped as `grouping` says. */
export type OpenStream = (
  records: readonly StreamRecord[],
  streamKey: string,
  signal: AbortSignal,
  grouping: MessageGrouping,
) => Promise<IngestStreamResponse>;

/**
 * Sends streams as IngestBatchStream messages (`recordsPerMessage` > 1) or one record per
 * IngestStream message (1). A server older than IngestBatchStream answers it UNIMPLEMENTED
 * before reading any record, so nothing of that call was stored: the same records go again, at
 * once, by IngestStream, and so does every later stream of this opener (one per client), which
 * spares each of them a round trip for the same answer. Both RPCs key and count records alike, so
 * the switch changes no key and no answer.
 */
export function streamOpener(calls: StreamCalls): OpenStream {
  let batchUnsupported = false;
  return async (records, streamKey, signal, grouping) => {
    if (grouping.recordsPerMessage > 1 && !batchUnsupported) {
      try {
        return await calls.ingestBatchStream(batchMessages(records, grouping), streamKey, signal);
      } catch (err) {
        if (!(err instanceof ConnectError && err.code === Code.Unimplemented)) throw err;
        batchUnsupported = true;
      }
    }
    return calls.ingestStream(singleRecords(records), streamKey, signal);
  };
}
