import { createHash } from "node:crypto";
import { type IngestStreamResponse, RejectReason } from "../../gen/pos/ingest/v1/ingest_pb.js";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  IDEMPOTENCY_KEY_RULE,
  MAX_LISTED_REJECTIONS,
} from "../contract/wire.js";
import type { MessageGrouping, StreamRecord } from "./batch-messages.js";
import { type IngestError, toIngestError } from "./errors.js";
import { type PreCheckOptions, preCheck } from "./pre-check.js";
import { type RetryPolicy, withRetries } from "./retry.js";
import type { SaleInput } from "./sale-input.js";
import { isValidKey, saleKey } from "./sale-key.js";
import { measureSale } from "./sale-size.js";
import type { OpenStream } from "./stream-opener.js";

/** Room for the request around the sale: its own key (≤ 255 bytes) and the framing. */
const REQUEST_FRAMING = 512;
/** The largest sale the server's default message limit takes. */
export const DEFAULT_MAX_SALE_BYTES = DEFAULT_MAX_MESSAGE_BYTES - REQUEST_FRAMING;

/** The most records a stream may hold so that the server lists every rejection in its answer. */
export const MAX_STREAM_SIZE = MAX_LISTED_REJECTIONS;

/**
 * Records per IngestBatchStream message by default. Past a few hundred records grpc-js's
 * per-message work is already a negligible share of each record's, and 500 is the server's
 * default database batch (STREAM_BATCH_SIZE): a default stream of 1,000 is two messages, each
 * filling one write, and the message stays far below 1 MiB for ordinary receipts (larger ones are
 * cut by `maxMessageBytes` first).
 */
export const DEFAULT_RECORDS_PER_MESSAGE = 500;

export interface IngestManyOptions extends PreCheckOptions {
  /** Records per stream, 1-1,000 (default 1,000: the server lists up to 1,000 rejections). */
  readonly streamSize?: number;
  /** Streams in flight at once (default 2: one fills while the other commits). */
  readonly concurrency?: number;
  /**
   * Records per message, at most (default 500; fewer when `maxMessageBytes` is reached first).
   * Above 1 the streams are IngestBatchStream calls; 1 sends IngestStream, one record per message,
   * as clients before IngestBatchStream did. Either way the records, keys and answers are the same,
   * and a server without IngestBatchStream is sent IngestStream instead.
   */
  readonly recordsPerMessage?: number;
  /** The key of the sale at `index`; default `saleKey(sale)`, from the POS's own ids. */
  readonly keyOf?: (sale: SaleInput, index: number) => string;
  /**
   * The server's MAX_MESSAGE_BYTES (default 1 MiB): a larger sale is rejected here, with its
   * index, instead of ending its whole stream with RESOURCE_EXHAUSTED; no batch message is larger.
   */
  readonly maxMessageBytes?: number;
  /** Stops reading input and cancels the streams in flight. */
  readonly signal?: AbortSignal;
  /** Called after every stream that completed, with the running totals. */
  readonly onProgress?: (progress: IngestManyProgress) => void;
  /**
   * Called for each rejection as its stream completes. With `collectRejections: false` the
   * result's `rejections` stays empty, so a huge input full of bad sales keeps memory bounded.
   */
  readonly onRejection?: (rejection: ManyRejection) => void;
  /** Whether the result lists every rejection with its sale (default true). */
  readonly collectRejections?: boolean;
  /** Called before a broken stream is resent. */
  readonly onRetry?: ((error: IngestError, delayMs: number) => void) | undefined;
}

/** Running totals of an `ingestMany`. */
export interface IngestManyProgress {
  /** Records handled: answered by the server, or refused by the client before sending. */
  readonly received: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Streams completed, and how many of them had to be resent at least once. */
  readonly streams: number;
  readonly resentStreams: number;
}

/** The totals before anything was sent. */
export const NO_PROGRESS: IngestManyProgress = Object.freeze({
  received: 0,
  accepted: 0,
  duplicate: 0,
  rejected: 0,
  streams: 0,
  resentStreams: 0,
});

/** A sale the server refused. */
export interface ManyRejection {
  /** 0-based position of the sale in the input. */
  readonly index: number;
  readonly sale: SaleInput;
  readonly idempotencyKey: string;
  readonly reason: "invalid_argument" | "idempotency_conflict" | "malformed" | "original_conflict";
  readonly message: string;
  /** The offending field, e.g. "sale.totals.total_minor". */
  readonly field: string;
}

export interface IngestManyResult extends IngestManyProgress {
  /** Every rejection, in input order. */
  readonly rejections: readonly ManyRejection[];
}

/**
 * Thrown when a stream fails for good (not retryable, or retries exhausted, or cancelled):
 * `partial` says what the streams completed before it had stored; nothing else was
 * acknowledged, and resending the input stores each sale once.
 */
export class IngestManyError extends Error {
  override readonly name = "IngestManyError";
  constructor(
    override readonly cause: IngestError,
    readonly partial: IngestManyResult,
  ) {
    super(cause.message, { cause });
  }
}

interface KeyedSale extends StreamRecord {
  readonly index: number;
}

/**
 * The engine of `IngestClient.ingestMany`. Every record carries its own idempotency key (the
 * record field, not `<stream key>/<i>`), so a resent stream, or a rerun that chunks the input
 * differently, still stores each sale once. Memory is bounded by `concurrency × streamSize`
 * sales: a stream's sales are kept until its answer maps rejections back to them, and its
 * messages are built from them as the transport asks (one message at a time, not a copy).
 */
export async function ingestMany(
  open: OpenStream,
  sales: AsyncIterable<SaleInput> | Iterable<SaleInput>,
  options: IngestManyOptions & { policy: RetryPolicy },
): Promise<IngestManyResult> {
  const streamSize = options.streamSize ?? MAX_STREAM_SIZE;
  if (!Number.isInteger(streamSize) || streamSize < 1 || streamSize > MAX_STREAM_SIZE) {
    throw new RangeError(`streamSize must be an integer from 1 to ${MAX_STREAM_SIZE}`);
  }
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError("concurrency must be a positive integer");
  }
  const recordsPerMessage = options.recordsPerMessage ?? DEFAULT_RECORDS_PER_MESSAGE;
  if (!Number.isInteger(recordsPerMessage) || recordsPerMessage < 1) {
    throw new RangeError("recordsPerMessage must be a positive integer");
  }
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const sending = { ...options, grouping: { recordsPerMessage, maxMessageBytes } };
  const maxSaleBytes = maxMessageBytes - REQUEST_FRAMING;
  const keyOf = options.keyOf ?? saleKey;
  // One controller for all streams: the caller's abort or the first final failure stops them all.
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const stopped = new Promise<"stopped">((resolve) => {
    if (stop.signal.aborted) resolve("stopped");
    stop.signal.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  const totals = { ...NO_PROGRESS };
  const rejections: ManyRejection[] = [];
  let failure: IngestError | undefined;
  const inFlight = new Set<Promise<void>>();
  const fail = (err: unknown) => {
    failure ??= toIngestError(err, 1);
    stop.abort(failure);
  };
  const reject = (rejection: ManyRejection) => {
    options.onRejection?.(rejection);
    if (options.collectRejections !== false) rejections.push(rejection);
  };

  const send = (records: KeyedSale[]) => {
    const sent = sendStream(open, records, stop.signal, sending).then(({ response, attempts }) => {
      // The caller's callbacks run here: one that throws fails the load, it is never lost.
      try {
        totals.received += Number(response.received);
        totals.accepted += Number(response.accepted);
        totals.duplicate += Number(response.duplicate);
        totals.rejected += Number(response.rejected);
        totals.streams++;
        if (attempts > 1) totals.resentStreams++;
        for (const r of response.rejections) {
          const record = records[Number(r.offset)];
          if (!record) continue;
          reject({
            index: record.index,
            sale: record.sale,
            idempotencyKey: record.key,
            reason: reasonName(r.reason),
            message: r.message,
            field: r.field,
          });
        }
        options.onProgress?.({ ...totals });
      } catch (err) {
        fail(err);
      }
    }, fail);
    const tracked = sent.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  /** A record refused before sending: counted and reported like a server rejection. */
  const refuseLocally = (
    index: number,
    sale: SaleInput,
    key: string,
    field: string,
    message: string,
  ) => {
    totals.received++;
    totals.rejected++;
    reject({ index, sale, idempotencyKey: key, reason: "invalid_argument", message, field });
  };

  const iterator =
    Symbol.asyncIterator in sales ? sales[Symbol.asyncIterator]() : sales[Symbol.iterator]();
  try {
    let batch: KeyedSale[] = [];
    for (let index = 0; ; index++) {
      // An input that waits (a pipe, a tail -f) must not delay an abort or a failure.
      const pending = Promise.resolve(iterator.next());
      // If the race is lost, a later failure of this read must not go unhandled.
      pending.catch(() => {});
      const next = await Promise.race([pending, stopped]);
      if (next === "stopped" || next.done) break;
      const sale = next.value;
      const key = keyOf(sale, index);
      if (!isValidKey(key)) {
        refuseLocally(index, sale, key, "idempotency_key", IDEMPOTENCY_KEY_RULE);
        continue;
      }
      const saleBytes = measureSale(sale, maxSaleBytes);
      if (typeof saleBytes === "string") {
        refuseLocally(index, sale, key, "sale", saleBytes);
        continue;
      }
      // As the server would: its first violation, with the record's index.
      const [violation] = preCheck(sale, options);
      if (violation) {
        refuseLocally(index, sale, key, violation.field, violation.description);
        continue;
      }
      batch.push({ index, sale, key, saleBytes });
      if (batch.length < streamSize) continue;
      send(batch);
      batch = [];
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    if (batch.length > 0 && !stop.signal.aborted) send(batch);
    await Promise.all(inFlight);
  } catch (err) {
    // The input failed (an unreadable file): stop the streams in flight, then report the input's
    // error; nothing they had not finished is acknowledged.
    stop.abort(err);
    await Promise.allSettled(inFlight);
    throw err;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (stop.signal.aborted) {
      // Not awaited: a generator parked on a read that never completes would hang us here.
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // A synchronous iterator's return() threw: nothing left to release.
      }
    }
  }
  rejections.sort((a, b) => a.index - b.index);
  const result: IngestManyResult = { ...totals, rejections };
  if (failure) throw new IngestManyError(failure, result);
  if (options.signal?.aborted) {
    // Aborted between streams: report it like an aborted stream would be.
    throw new IngestManyError(toIngestError(options.signal.reason, 1), result);
  }
  return result;
}

async function sendStream(
  open: OpenStream,
  records: readonly KeyedSale[],
  signal: AbortSignal,
  options: IngestManyOptions & { policy: RetryPolicy; grouping: MessageGrouping },
): Promise<{ response: IngestStreamResponse; attempts: number }> {
  // Named by its records' keys: an identical rerun sends the same stream key, so even a server
  // that predates per-record keys (and keys records "<stream key>/<i>") deduplicates it.
  const streamKey = `many:${createHash("sha256")
    .update(records.map((r) => r.key).join("\n"))
    .digest("base64url")}`;
  let attempts = 0;
  const response = await withRetries(
    ({ number }) => {
      attempts = number;
      // The same key on every attempt, whatever RPC or grouping it uses: the records are keyed
      // by the stream, not by its messages.
      return open(records, streamKey, signal, options.grouping);
    },
    options.policy,
    signal,
    options.onRetry,
  );
  return { response, attempts };
}

/**
 * Why `sale` cannot be sent under `key` at all (before any rule of the contract), or undefined:
 * a key the server would refuse, or a sale larger than `maxSaleBytes` (the server's message limit
 * less the request's framing; DEFAULT_MAX_SALE_BYTES for the default limit).
 */
export function unsendable(
  sale: SaleInput,
  key: string,
  maxSaleBytes: number = DEFAULT_MAX_SALE_BYTES,
): { field: string; message: string } | undefined {
  if (!isValidKey(key)) {
    return { field: "idempotency_key", message: IDEMPOTENCY_KEY_RULE };
  }
  const size = measureSale(sale, maxSaleBytes);
  return typeof size === "string" ? { field: "sale", message: size } : undefined;
}

function reasonName(reason: RejectReason): ManyRejection["reason"] {
  switch (reason) {
    case RejectReason.IDEMPOTENCY_CONFLICT:
      return "idempotency_conflict";
    case RejectReason.MALFORMED:
      return "malformed";
    case RejectReason.ORIGINAL_CONFLICT:
      return "original_conflict";
    default:
      return "invalid_argument";
  }
}
