import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";

// The ingest domain's own types: what the service returns and what it needs from outside.
// Kept apart so the service, the stream session and the proto mapping share them without
// importing each other.

/** What a unary ingest stored or found. */
export interface IngestResult {
  readonly recordId: string;
  readonly outcome: "accepted" | "duplicate";
  readonly acceptedAtMicros: bigint;
  readonly idempotencyKey: string;
}

/** Why a streamed record was not stored. */
export type RejectionReason =
  | "invalid_argument"
  | "idempotency_conflict"
  | "malformed"
  | "original_conflict";

export interface Rejection {
  readonly offset: number;
  readonly reason: RejectionReason;
  readonly message: string;
  readonly field: string;
}

/** The outcome of a whole stream. */
export interface StreamSummary {
  readonly received: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  readonly rejections: readonly Rejection[];
  readonly rejectionsOmitted: number;
  readonly idempotencyKey: string | undefined;
}

/** One client stream being ingested; feed it records in order, then `finish`. */
export interface StreamSession {
  /**
   * Adds the next record (`saleBytes`: the client's encoding of it, when known; `recordKey`: the
   * record's own idempotency key, empty or absent when it has none). Returns a promise when the
   * caller must wait before sending more (backpressure), which resolves once the server is ready;
   * undefined when it may go on at once.
   */
  add(
    sale: Sale | undefined,
    saleBytes?: Uint8Array,
    recordKey?: string,
  ): Promise<void> | undefined;
  /** Counts the next record as undecodable. */
  addMalformed(message: string): Promise<void>;
  /** Commits what is buffered and reports the totals. Nothing is acknowledged before this. */
  finish(): Promise<StreamSummary>;
  /** Counters so far; `accepted` and `duplicate` may still grow while batches are in flight. */
  progress(): Omit<StreamSummary, "rejections" | "idempotencyKey">;
  /**
   * For a stream that ends without `finish` (failed, cancelled): writes nothing more, waits for
   * the batches already in flight (their failures ignored: the call is failing anyway) and
   * returns the counters, whose `accepted` and `duplicate` are then exactly what is committed.
   */
  settled(): Promise<Omit<StreamSummary, "rejections" | "idempotencyKey">>;
}

/** At most this many rejections are listed in a stream's answer; the rest are only counted. */
export { MAX_LISTED_REJECTIONS } from "../contract/wire.js";

/** What became of one record: stored, found stored already, or refused as invalid. */
export const RECORD_OUTCOMES = ["accepted", "duplicate", "rejected"] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

/** The two write paths: unary calls (group-committed) and stream batches. */
export const WRITE_PATHS = ["unary", "stream"] as const;
export type WritePath = (typeof WRITE_PATHS)[number];

/** Where the service reports what it did (metrics). */
export interface IngestObserver {
  records(tenantId: string, source: string, outcome: RecordOutcome, count: number): void;
  batch(path: WritePath, size: number): void;
}

/** An observer that records nothing (tests, tools). */
export const NO_OBSERVER: IngestObserver = { records() {}, batch() {} };

/** Runs a database operation under the circuit breaker. */
export type DbGuard = <T>(operation: () => Promise<T>) => Promise<T>;

/** Takes records from a tenant's budget (see resilience/rate-limiter.ts). */
export interface RecordBudget {
  acquire(tenantId: string, records: number, maxWaitMs: number): Promise<void>;
}
