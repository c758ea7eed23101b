import type { KeyDigest } from "../contract/key-digest.js";
import type { FigureDifference, ZReport } from "../contract/z-report.js";

/** The period of a reconciliation: one business day, or a half-open range of occurred_at. */
export type ReconcilePeriod =
  | { readonly businessDay: string }
  | {
      /** Microseconds since the epoch, inclusive. */
      readonly startMicros: bigint;
      /** Microseconds since the epoch, exclusive. */
      readonly endMicros: bigint;
    };

/** What to reconcile, validated: one location, optionally one register, one period. */
export interface ReconcileScope {
  readonly locationId: string;
  /** Undefined: every register of the location. */
  readonly registerId: string | undefined;
  readonly period: ReconcilePeriod;
}

/** The server's figures for a scope, as one snapshot of the table saw them. */
export interface StoredFigures {
  readonly report: ZReport;
  /** When the snapshot was taken (the statement's `now()`), microseconds since the epoch. */
  readonly snapshotAtMicros: bigint;
  /** Rows of the scope whose ledger is null (stored before it, not backfilled). */
  readonly rowsWithoutLedger: bigint;
  /** The digest of the scope's stored keys, of the same snapshot. */
  readonly keys: KeyDigest;
}

/** The answer of a reconciliation. */
export interface ReconcileResult extends StoredFigures {
  readonly match: boolean;
  /** Only the figures that differ (rows without ledger included, as `rows_without_ledger`). */
  readonly differences: readonly FigureDifference[];
}

/** Told about every reconciliation that ran, for the metrics. */
export interface ReconcileObserver {
  /** One Reconcile call answered; `differences`: how many figures differed (0 on a match). */
  reconciled(tenantId: string, match: boolean, differences: number): void;
}

export const NO_RECONCILE_OBSERVER: ReconcileObserver = { reconciled() {} };
