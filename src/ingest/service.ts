import type { Kysely } from "kysely";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { LedgerError } from "../contract/ledger.js";
import { IdempotencyConflictError, OriginalConflictError, ValidationError } from "../errors.js";
import type { Database } from "../storage/database.js";
import { writeSaleBatch } from "./batch-write.js";
import { createBatcher } from "./batcher.js";
import { contentKey, fingerprintSale, uuidv7 } from "./canonical.js";
import { toSaleRow } from "./mapping.js";
import {
  type DbGuard,
  type IngestObserver,
  type IngestResult,
  NO_OBSERVER,
  type RecordBudget,
  type StreamSession,
} from "./model.js";
import type { SaleRow, WriteResult } from "./repository.js";
import { Session, type StreamLimits } from "./stream-session.js";
import { type ValidationLimits, validateSale } from "./validation.js";

export type {
  DbGuard,
  IngestObserver,
  IngestResult,
  RecordBudget,
  StreamSession,
  StreamSummary,
} from "./model.js";

/** The ingest logic: validation, idempotency and batching, independent of gRPC. */
export interface IngestService {
  /**
   * Stores one sale (`saleBytes`: the client's encoding of it, when known; used as they are when
   * they are already canonical, else the sale is re-encoded).
   */
  ingest(
    tenantId: string,
    sale: Sale | undefined,
    idempotencyKey?: string,
    saleBytes?: Uint8Array,
  ): Promise<IngestResult>;
  openStream(tenantId: string, streamKey?: string): StreamSession;
  /** Waits for in-flight unary writes (used on shutdown). */
  drain(): Promise<void>;
}

export interface IngestServiceOptions {
  readonly db: Kysely<Database>;
  readonly observer?: IngestObserver;
  readonly guard?: DbGuard;
  readonly budget?: RecordBudget;
  /** How long a stream may be held back waiting for its tenant's budget before it is ended. */
  readonly maxStreamWaitMs?: number;
  readonly maxStreamRecords?: number;
  readonly limits: ValidationLimits;
  readonly streamBatchSize: number;
  readonly unaryBatchSize: number;
  readonly unaryMaxConcurrentWrites: number;
}

/**
 * Batches one stream writes at once. Two keep Postgres busy while the server builds the next
 * statement (one left both waiting on each other half the time); more only add memory.
 */
const STREAM_BATCHES_IN_FLIGHT = 2;

/**
 * Sale bytes that close a stream batch before it has STREAM_BATCH_SIZE records. With three
 * batches per stream in memory, a stream of 1 MiB wholesale orders holds about 12 MiB rather
 * than 1.5 GiB, and one INSERT's parameters stay a few MiB.
 */
export const STREAM_BATCH_MAX_BYTES = 4 * 1024 * 1024;

/** Builds the ingest service over a database. */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const { db, limits } = options;
  const observer = options.observer ?? NO_OBSERVER;
  const guard: DbGuard = options.guard ?? ((operation) => operation());
  const budget: RecordBudget = options.budget ?? { acquire: async () => {} };
  const writes = new InFlight();
  const write = (tenantId: string, rows: readonly SaleRow[]) =>
    writes.track(guard(() => writeSaleBatch(db, tenantId, rows)));
  const streamLimits: StreamLimits = {
    batchSize: options.streamBatchSize,
    batchMaxBytes: STREAM_BATCH_MAX_BYTES,
    maxRecords: options.maxStreamRecords ?? Number.POSITIVE_INFINITY,
    maxWaitMs: options.maxStreamWaitMs ?? 0,
    maxInFlight: STREAM_BATCHES_IN_FLIGHT,
  };
  const unaryWrites = createBatcher<SaleRow, WriteResult>({
    maxBatch: options.unaryBatchSize,
    maxConcurrent: options.unaryMaxConcurrentWrites,
    groupOf: (row) => row.tenantId,
    write: (rows, tenantId) => {
      observer.batch("unary", rows.length);
      return write(tenantId, rows);
    },
  });

  return {
    async ingest(tenantId, sale, idempotencyKey, saleBytes) {
      // Every call counts, valid or not: invalid floods cost CPU too.
      await budget.acquire(tenantId, 1, 0);
      const violations = validateSale(sale, limits);
      if (violations.length > 0 || !sale) {
        observer.records(tenantId, sale?.source ?? "", "rejected", 1);
        throw new ValidationError(violations);
      }
      const fingerprint = fingerprintSale(sale, saleBytes);
      const key = idempotencyKey ?? contentKey(fingerprint.hash);
      let row: SaleRow;
      try {
        row = toSaleRow(tenantId, key, uuidv7(), fingerprint, sale);
      } catch (err) {
        if (!(err instanceof LedgerError)) throw err;
        observer.records(tenantId, sale.source, "rejected", 1);
        throw new ValidationError([{ field: err.field, description: err.description }]);
      }
      const stored = await unaryWrites.submit(row);
      if ("originalConflict" in stored) {
        observer.records(tenantId, sale.source, "rejected", 1);
        throw new OriginalConflictError(stored.originalConflict);
      }
      if (stored.payloadHash !== fingerprint.hash) {
        observer.records(tenantId, sale.source, "rejected", 1);
        throw new IdempotencyConflictError(key);
      }
      observer.records(tenantId, sale.source, stored.inserted ? "accepted" : "duplicate", 1);
      return {
        recordId: stored.id,
        outcome: stored.inserted ? "accepted" : "duplicate",
        acceptedAtMicros: stored.acceptedAtMicros,
        idempotencyKey: key,
      };
    },
    openStream(tenantId, streamKey) {
      return new Session(limits, streamLimits, tenantId, streamKey, observer, write, budget);
    },
    async drain() {
      await unaryWrites.drain();
      await writes.settled();
    },
  };
}

/** Tracks database writes in flight, so shutdown closes the pool only after the last one. */
class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
