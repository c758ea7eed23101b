import type { Kysely } from "kysely";
import { type KeyDigest, type KeyRange, sameDigest } from "../contract/key-digest.js";
import { compareZReports, type FigureDifference, type ZReport } from "../contract/z-report.js";
import type { Database } from "../storage/database.js";
import type { DbGuard, RecordBudget } from "./model.js";
import { digestKeyRanges, listKeyPage, type StoredKey } from "./reconcile-keys-repository.js";
import {
  NO_RECONCILE_OBSERVER,
  type ReconcileObserver,
  type ReconcileResult,
  type ReconcileScope,
} from "./reconcile-model.js";
import { reconcileFigures } from "./reconcile-repository.js";

/** End-of-day reconciliation, independent of gRPC: the server's figures and keys against a gateway's. */
export interface ReconcileService {
  /**
   * Compares `gateway` (a validated Z report) and, when given, the digest of the gateway's keys
   * with what the tenant has stored for `scope`.
   */
  reconcile(
    tenantId: string,
    scope: ReconcileScope,
    gateway: ZReport,
    gatewayKeys?: KeyDigest,
  ): Promise<ReconcileResult>;
  /** The digest of the scope's keys accepted by `asOfMicros` in each of `ranges` (sorted, disjoint). */
  digestKeys(
    tenantId: string,
    scope: ReconcileScope,
    asOfMicros: bigint | undefined,
    ranges: readonly KeyRange[],
  ): Promise<KeyDigest[]>;
  /** One page of the scope's keys in `range` after `after`, in byte order. */
  listKeys(
    tenantId: string,
    scope: ReconcileScope,
    asOfMicros: bigint | undefined,
    range: KeyRange,
    after: string,
    pageSize: number,
  ): Promise<{ keys: StoredKey[]; more: boolean }>;
}

export interface ReconcileServiceOptions {
  readonly db: Kysely<Database>;
  readonly guard?: DbGuard;
  /** The tenant's record budget: every reconcile call costs one record, as a unary Ingest does. */
  readonly budget?: RecordBudget;
  readonly observer?: ReconcileObserver;
}

/** Builds the reconciliation service over a database. */
export function createReconcileService(options: ReconcileServiceOptions): ReconcileService {
  const { db } = options;
  const guard: DbGuard = options.guard ?? ((operation) => operation());
  const budget: RecordBudget = options.budget ?? { acquire: async () => {} };
  const observer = options.observer ?? NO_RECONCILE_OBSERVER;
  return {
    async reconcile(tenantId, scope, gateway, gatewayKeys) {
      // A reconciliation reads a day of rows: a tenant that loops on it must not starve others.
      await budget.acquire(tenantId, 1, 0);
      const stored = await guard(() => reconcileFigures(db, tenantId, scope));
      const differences: FigureDifference[] = compareZReports(gateway, stored.report);
      // Rows without a ledger are missing from the sums: the figures cannot be trusted to match.
      if (stored.rowsWithoutLedger > 0n) {
        differences.push({
          figure: "rows_without_ledger",
          currency: "",
          gateway: 0n,
          server: stored.rowsWithoutLedger,
        });
      }
      // Figures can agree while keys do not: a sale stored under another key than the gateway's.
      if (gatewayKeys && !sameDigest(gatewayKeys, stored.keys)) {
        if (gatewayKeys.count !== stored.keys.count) {
          differences.push(keyDifference("keys.count", gatewayKeys.count, stored.keys.count));
        }
        if (gatewayKeys.digest !== stored.keys.digest) {
          differences.push(keyDifference("keys.digest", gatewayKeys.digest, stored.keys.digest));
        }
      }
      const match = differences.length === 0;
      observer.reconciled(tenantId, match, differences.length);
      return { ...stored, match, differences };
    },
    async digestKeys(tenantId, scope, asOfMicros, ranges) {
      await budget.acquire(tenantId, 1, 0);
      return guard(() => digestKeyRanges(db, tenantId, scope, asOfMicros, ranges));
    },
    async listKeys(tenantId, scope, asOfMicros, range, after, pageSize) {
      await budget.acquire(tenantId, 1, 0);
      return guard(() => listKeyPage(db, tenantId, scope, asOfMicros, range, after, pageSize));
    },
  };
}

/**
 * A key-digest difference. The digest is a uint64 on the wire and FigureDifference holds int64:
 * it travels as the same 64 bits, read back unsigned by the client.
 */
function keyDifference(figure: string, gateway: bigint, server: bigint): FigureDifference {
  return {
    figure,
    currency: "",
    gateway: BigInt.asIntN(64, gateway),
    server: BigInt.asIntN(64, server),
  };
}
