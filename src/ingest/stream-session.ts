import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { LedgerError } from "../contract/ledger.js";
import { IDEMPOTENCY_KEY_RULE } from "../contract/wire.js";
import { RateLimitedError, StreamLimitError } from "../errors.js";
import { voidedOriginalOf } from "./batch-write.js";
import {
  contentKey,
  fingerprintSale,
  isValidIdempotencyKey,
  streamRecordKey,
  uuidv7,
} from "./canonical.js";
import { toSaleRow } from "./mapping.js";
import {
  type IngestObserver,
  MAX_LISTED_REJECTIONS,
  type RecordBudget,
  type Rejection,
  type RejectionReason,
  type StreamSession,
  type StreamSummary,
} from "./model.js";
import type { SaleRow, WriteResult } from "./repository.js";
import { type ValidationLimits, validateSale } from "./validation.js";

type Outcome = "accepted" | "duplicate" | "rejected";
const OUTCOMES: readonly Outcome[] = ["accepted", "duplicate", "rejected"];

/** The bounds a stream session works within. */
export interface StreamLimits {
  readonly batchSize: number;
  /**
   * A batch also closes once its sales reach this many bytes, so memory is bounded in bytes as
   * well as records: 500 wholesale orders of 1 MiB would otherwise be one 500 MiB batch.
   */
  readonly batchMaxBytes: number;
  readonly maxRecords: number;
  readonly maxWaitMs: number;
  /** Batches written concurrently, each on its own connection. */
  readonly maxInFlight: number;
}

/**
 * Buffers validated records into batches of `batchSize` and writes each batch in one statement.
 * Up to `maxInFlight` batches are written at once while the next fills, so decoding overlaps the
 * database round trips; `add` waits whenever a full batch finds that many still in flight, which
 * stops reading from the client (gRPC flow control) and bounds memory to `maxInFlight + 1`
 * batches.
 *
 * Concurrent batches cannot deadlock (each writes its rows in key order), and a batch that shares
 * a key with one in flight waits for it, so the first occurrence of a key in a stream is always
 * the one stored, as if batches were written one after the other.
 */
export class Session implements StreamSession {
  private received = 0;
  private accepted = 0;
  private duplicate = 0;
  private rejected = 0;
  private rejectionsOmitted = 0;
  private readonly rejections: Rejection[] = [];
  private pending: { offset: number; row: SaleRow }[] = [];
  private pendingBytes = 0;
  private inFlight: { done: Promise<void>; keys: Set<string> }[] = [];
  /** Records received but not yet taken from the tenant's budget. */
  private unpaid = 0;

  constructor(
    private readonly limits: ValidationLimits,
    private readonly streamLimits: StreamLimits,
    private readonly tenantId: string,
    private readonly streamKey: string | undefined,
    private readonly observer: IngestObserver,
    private readonly writeBatch: (
      tenantId: string,
      rows: readonly SaleRow[],
    ) => Promise<WriteResult[]>,
    private readonly budget: RecordBudget,
  ) {}

  add(sale: Sale | undefined, saleBytes?: Uint8Array, recordKey = ""): Promise<void> | undefined {
    // Most records need no waiting at all; only the record that completes a batch or a budget
    // instalment returns a promise, so the common path allocates none.
    const offset = this.admitNow();
    if (offset === undefined) {
      return this.admit().then((o) => this.accept(o, sale, saleBytes, recordKey));
    }
    return this.accept(offset, sale, saleBytes, recordKey);
  }

  private accept(
    offset: number,
    sale: Sale | undefined,
    saleBytes: Uint8Array | undefined,
    recordKey: string,
  ): Promise<void> | undefined {
    if (recordKey !== "" && !isValidIdempotencyKey(recordKey)) {
      this.observer.records(this.tenantId, sale?.source ?? "", "rejected", 1);
      this.reject(offset, "invalid_argument", IDEMPOTENCY_KEY_RULE, "idempotency_key");
      return undefined;
    }
    const violations = validateSale(sale, this.limits);
    if (violations.length > 0 || !sale) {
      const first = violations[0];
      this.observer.records(this.tenantId, sale?.source ?? "", "rejected", 1);
      this.reject(offset, "invalid_argument", first?.description ?? "invalid", first?.field ?? "");
      return undefined;
    }
    const fingerprint = fingerprintSale(sale, saleBytes);
    // A record's own key wins: it names the sale wherever a resend puts it.
    const key =
      recordKey ||
      (this.streamKey ? streamRecordKey(this.streamKey, offset) : contentKey(fingerprint.hash));
    let row: SaleRow;
    try {
      row = toSaleRow(this.tenantId, key, uuidv7(), fingerprint, sale);
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      this.observer.records(this.tenantId, sale.source, "rejected", 1);
      this.reject(offset, "invalid_argument", err.description, err.field);
      return undefined;
    }
    this.pending.push({ offset, row });
    this.pendingBytes += fingerprint.bytes.length;
    if (
      this.pending.length >= this.streamLimits.batchSize ||
      this.pendingBytes >= this.streamLimits.batchMaxBytes
    ) {
      return this.flush();
    }
    return undefined;
  }

  async addMalformed(message: string): Promise<void> {
    this.reject(await this.admit(), "malformed", message, "");
  }

  /** The next record's offset when admitting it needs no waiting, else undefined. */
  private admitNow(): number | undefined {
    if (
      this.received >= this.streamLimits.maxRecords ||
      this.unpaid + 1 >= this.streamLimits.batchSize
    ) {
      return undefined;
    }
    this.unpaid++;
    return this.received++;
  }

  /**
   * Counts the next record against the stream's bounds and the tenant's budget; returns its
   * offset. The budget is taken a batch at a time, and waiting for it stops reading from the
   * client, so a stream over its limit is slowed down rather than refused outright.
   */
  private async admit(): Promise<number> {
    if (this.received >= this.streamLimits.maxRecords) {
      await this.settle();
      throw new StreamLimitError(
        "too_many_records",
        `stream has more than ${this.streamLimits.maxRecords} records; split it`,
        this.progress(),
      );
    }
    this.unpaid++;
    if (this.unpaid >= this.streamLimits.batchSize) await this.pay();
    return this.received++;
  }

  private async pay(): Promise<void> {
    if (this.unpaid === 0) return;
    const records = this.unpaid;
    this.unpaid = 0;
    try {
      await this.budget.acquire(this.tenantId, records, this.streamLimits.maxWaitMs);
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      // Report exactly what is committed: wait for the batch in flight first.
      await this.settle();
      throw new RateLimitedError(err.retryAfterMs, this.progress());
    }
  }

  /** Waits for the batch in flight, ignoring its failure (the caller is already failing). */
  private async settle(): Promise<void> {
    await Promise.all(this.inFlight.map((b) => b.done.catch(() => {})));
  }

  async finish(): Promise<StreamSummary> {
    await this.pay();
    await this.flush();
    for (const batch of this.inFlight) await batch.done;
    // Conflicts are found when a batch commits, after later records' validation failures.
    this.rejections.sort((a, b) => a.offset - b.offset);
    return {
      ...this.progress(),
      rejections: this.rejections,
      idempotencyKey: this.streamKey,
    };
  }

  async settled() {
    await this.settle();
    return this.progress();
  }

  progress() {
    return {
      received: this.received,
      accepted: this.accepted,
      duplicate: this.duplicate,
      rejected: this.rejected,
      rejectionsOmitted: this.rejectionsOmitted,
    };
  }

  private async flush(): Promise<void> {
    // Surfaces a failure of an earlier batch before more is written or acknowledged.
    while (this.inFlight.length >= this.streamLimits.maxInFlight) await this.oldestDone();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const keys = new Set(batch.map((b) => b.row.idempotencyKey));
    // Likewise the original of a post-void: of two voids of one original, the earlier is stored.
    for (const b of batch) {
      const original = voidedOriginalOf(b.row);
      if (original !== undefined) keys.add(original);
    }
    // A key written by a batch in flight: wait for it, so the earlier record is the one stored.
    while (this.inFlight.some((b) => overlaps(b.keys, keys))) await this.oldestDone();
    const done = this.write(batch);
    // Keep a rejection from going unhandled while nobody awaits it yet; it is awaited in order.
    done.catch(() => {});
    this.inFlight.push({ done, keys });
  }

  /** Waits for the oldest batch in flight and forgets it; rethrows its failure. */
  private async oldestDone(): Promise<void> {
    const oldest = this.inFlight[0];
    if (!oldest) return;
    try {
      await oldest.done;
    } finally {
      if (this.inFlight[0] === oldest) this.inFlight.shift();
    }
  }

  private async write(batch: { offset: number; row: SaleRow }[]): Promise<void> {
    this.observer.batch("stream", batch.length);
    const stored = await this.writeBatch(
      this.tenantId,
      batch.map((b) => b.row),
    );
    // Counted per source, then reported once per batch: metrics stay off the per-record path.
    const counts = new Map<string, Record<Outcome, number>>();
    batch.forEach(({ offset, row }, i) => {
      const s = stored[i] as WriteResult;
      let perSource = counts.get(row.source);
      if (!perSource) {
        perSource = { accepted: 0, duplicate: 0, rejected: 0 };
        counts.set(row.source, perSource);
      }
      if ("originalConflict" in s) {
        perSource.rejected++;
        this.reject(offset, "original_conflict", s.originalConflict, "sale.original");
      } else if (s.payloadHash !== row.payloadHash) {
        perSource.rejected++;
        this.reject(
          offset,
          "idempotency_conflict",
          `idempotency key ${row.idempotencyKey} was already used for a different sale`,
          "",
        );
      } else if (s.inserted) {
        perSource.accepted++;
        this.accepted++;
      } else {
        perSource.duplicate++;
        this.duplicate++;
      }
    });
    for (const [source, perSource] of counts) {
      for (const outcome of OUTCOMES) {
        const n = perSource[outcome];
        if (n > 0) this.observer.records(this.tenantId, source, outcome, n);
      }
    }
  }

  private reject(offset: number, reason: RejectionReason, message: string, field: string): void {
    this.rejected++;
    if (this.rejections.length < MAX_LISTED_REJECTIONS) {
      this.rejections.push({ offset, reason, message, field });
    } else this.rejectionsOmitted++;
  }
}

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const key of a) if (b.has(key)) return true;
  return false;
}
