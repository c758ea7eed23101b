import type { Kysely } from "kysely";
import { compareZReports, type FigureDifference, type ZReport } from "../contract/z-report.js";
import type { Database } from "../storage/database.js";
import type { DbGuard, RecordBudget } from "./model.js";
import {
  NO_RECONCILE_OBSERVER,
  type ReconcileObserver,
  type ReconcileResult,
  type ReconcileScope,
} from "./reconcile-model.js";
import { reconcileFigures } from "./reconcile-repository.js";

/** End-of-day reconciliation, independent of gRPC: the server's figures against a gateway's. */
export interface ReconcileService {
  /** Compares `gateway` (a validated Z report) with what the tenant has stored for `scope`. */
  reconcile(tenantId: string, scope: ReconcileScope, gateway: ZReport): Promise<ReconcileResult>;
}

export interface ReconcileServiceOptions {
  readonly db: Kysely<Database>;
  readonly guard?: DbGuard;
  /** The tenant's record budget: a reconciliation costs one record, as a unary Ingest does. */
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
    async reconcile(tenantId, scope, gateway) {
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
      const match = differences.length === 0;
      observer.reconciled(tenantId, match);
      return { ...stored, match, differences };
    },
  };
}
