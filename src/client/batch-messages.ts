import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  IngestBatchStreamRequestSchema,
  IngestRequestSchema,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { SaleInput } from "./sale-input.js";

/** One IngestStream message. */
export type RequestInit = MessageInitShape<typeof IngestRequestSchema>;
/** One IngestBatchStream message. */
export type BatchInit = MessageInitShape<typeof IngestBatchStreamRequestSchema>;

/** A record of a stream, with what it costs on the wire. */
export interface StreamRecord {
  readonly sale: SaleInput;
  /** The record's own idempotency key (printable ASCII: one byte a character). */
  readonly key: string;
  /** The sale's encoded size, or an upper bound of it (see measureSale). */
  readonly saleBytes: number;
}

/** How a stream's records are put into IngestBatchStream messages. */
export interface MessageGrouping {
  /** At most this many records per message. */
  readonly recordsPerMessage: number;
  /** The server's MAX_MESSAGE_BYTES: no message is larger. */
  readonly maxMessageBytes: number;
}

/** Bytes of a varint holding `n`. */
function varintBytes(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

/** Bytes of a length-delimited field (tag < 16: one byte) holding `length` bytes. */
const fieldBytes = (length: number) => 1 + varintBytes(length) + length;

/**
 * What `record` adds to an IngestBatchStreamRequest: its `records` entry (tag, length, the
 * IngestRequest), the IngestRequest being the sale's field and the key's. An upper bound when
 * `saleBytes` is one.
 */
export function recordBytes(record: StreamRecord): number {
  const request = fieldBytes(record.saleBytes) + (record.key ? fieldBytes(record.key.length) : 0);
  return fieldBytes(request);
}

/**
 * The records as IngestStream messages, one each. Generated as the transport asks, so a resend
 * re-reads the stream's records instead of holding a copy of them.
 */
export async function* singleRecords(
  records: readonly StreamRecord[],
): AsyncGenerator<RequestInit> {
  for (const r of records) yield { sale: r.sale, idempotencyKey: r.key };
}

/**
 * The records, in order, as IngestBatchStream messages of at most `recordsPerMessage` records
 * and `maxMessageBytes` bytes each (the message is nothing but its records, so their sizes add
 * up to its own). A record that fits no message with others goes alone: every record that passed
 * the size check (its sale at most the limit less the request's framing) fits one by itself.
 */
export async function* batchMessages(
  records: readonly StreamRecord[],
  grouping: MessageGrouping,
): AsyncGenerator<BatchInit> {
  let message: RequestInit[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (
      message.length > 0 &&
      (message.length >= grouping.recordsPerMessage || bytes + size > grouping.maxMessageBytes)
    ) {
      yield { records: message };
      message = [];
      bytes = 0;
    }
    message.push({ sale: r.sale, idempotencyKey: r.key });
    bytes += size;
  }
  if (message.length > 0) yield { records: message };
}
