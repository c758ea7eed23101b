import { fromBinary } from "@bufbuild/protobuf";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ledger, type SaleLedger } from "../contract/ledger.js";
import type { Executor } from "../storage/database.js";
import {
  fillLedger,
  findRowsWithoutLedger,
  type SaleCursor,
  tenantsWithoutLedger,
} from "./ledger-repository.js";

/** A row whose ledger could not be computed from its sale bytes; it is left without one. */
export interface UnfilledRow extends SaleCursor {
  readonly reason: string;
}

/** What a backfill did. */
export interface BackfillSummary {
  readonly batches: number;
  /** Rows read without a ledger. */
  readonly read: number;
  /** Rows this run filled (fewer than read when another run filled some first). */
  readonly filled: number;
  /** Rows whose ledger could not be computed, left without one. */
  readonly unfilled: number;
  /** The first of them (at most 20), with why. */
  readonly unfilledRows: readonly UnfilledRow[];
}

/** The most unfilled rows a summary names; the rest are only counted. */
const MAX_LISTED_UNFILLED = 20;

/**
 * Fills the ledger columns of rows stored before they existed (migration 000300), each from its
 * own `sale` bytes through `ledger()`, the function the server writes new rows with. Tenant by
 * tenant, batches of `batchSize` rows in key order, one UPDATE each, committed one by one: stopped at any point, a
 * rerun picks up what is still null, and nothing is filled twice. The payload and its hash are
 * never touched; only derived columns are written. A row that does not decode, or whose ledger
 * cannot be computed, is skipped and reported, never guessed.
 */
export async function backfillLedger(
  db: Executor,
  options: { batchSize: number; onBatch?: (summary: BackfillSummary) => void },
): Promise<BackfillSummary> {
  let batches = 0;
  let read = 0;
  let filled = 0;
  let unfilled = 0;
  const unfilledRows: UnfilledRow[] = [];
  // Tenant by tenant, so every statement names one tenant (one shard on Citus).
  for (const tenantId of await tenantsWithoutLedger(db)) {
    let afterKey: string | undefined;
    for (;;) {
      const rows = await findRowsWithoutLedger(db, tenantId, afterKey, options.batchSize);
      if (rows.length === 0) break;
      afterKey = rows.at(-1)?.idempotencyKey;
      const computed: (SaleCursor & { ledger: SaleLedger })[] = [];
      for (const row of rows) {
        try {
          computed.push({ ...row, ledger: ledger(fromBinary(SaleSchema, row.sale)) });
        } catch (err) {
          unfilled++;
          if (unfilledRows.length < MAX_LISTED_UNFILLED) {
            const reason = err instanceof Error ? err.message : String(err);
            unfilledRows.push({ tenantId, idempotencyKey: row.idempotencyKey, reason });
          }
        }
      }
      filled += await fillLedger(db, tenantId, computed);
      batches++;
      read += rows.length;
      options.onBatch?.({ batches, read, filled, unfilled, unfilledRows });
      if (rows.length < options.batchSize) break;
    }
  }
  return { batches, read, filled, unfilled, unfilledRows };
}
