import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ReconcileFigures,
  type ReconcileRequest,
  ReconcileRequestSchema,
  type ReconcileResponse,
  type ReconcileScope,
  ReconcileScopeSchema,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import type { KeyDigest } from "../contract/key-digest.js";
import { type FigureDifference, fromWireFigure, type ZReport } from "../contract/z-report.js";
import type { KeyDifferences, KeySearchOptions } from "./reconcile-keys.js";

/**
 * What to reconcile and the gateway's own figures for it: one location, optionally one
 * register, and either a business day or a range of `occurred_at` (not both).
 */
export interface ReconcileInput {
  readonly locationId: string;
  /** Omitted: every register of the location. */
  readonly registerId?: string;
  /** "YYYY-MM-DD": the sales' `business_day`, else the UTC date of their `occurred_at`. */
  readonly businessDay?: string;
  /** Sales with `from <= occurred_at < to` (at most 31 days), instead of a business day. */
  readonly occurred?: { readonly from: Date; readonly to: Date };
  /** The gateway's Z report for the scope, e.g. `zReport(salesSent)` by the same rules. */
  readonly figures: ZReport;
  /**
   * The idempotency keys of every transaction the gateway sent for the scope (`saleKey(sale)`
   * unless it chose its own). Given: their digest is compared too and, when the keys differ,
   * the client finds exactly which (`keyDifferences`). Omitted: the figures alone decide.
   */
  readonly keys?: Iterable<string>;
}

/** Per-call options of `reconcile`. */
export interface ReconcileOptions {
  readonly signal?: AbortSignal;
  /** Deadline of each attempt (overrides the client's `timeoutMs`). */
  readonly timeoutMs?: number;
  /** Tuning of the search for differing keys. */
  readonly search?: KeySearchOptions;
}

/** The server's answer: its figures for the scope and only the figures that differ. */
export interface ReconcileAnswer {
  /** True when no figure differs. */
  readonly match: boolean;
  /** The server's figures, currencies in code order, tenders by currency then tender type. */
  readonly server: ZReport;
  /**
   * Counts first, then by currency, then by (currency, tender type); "rows_without_ledger" when
   * stored rows lack their ledger.
   */
  readonly differences: readonly FigureDifference[];
  /** The server's figures are of one snapshot taken then; every sale acknowledged before the call is in it. */
  readonly snapshotAt: Date;
  /** Stored rows of the scope without their ledger (run `pos-ingest backfill-ledger`). */
  readonly rowsWithoutLedger: bigint;
  /** The digest of the scope's stored keys, of the same snapshot. */
  readonly keys: KeyDigest;
  /**
   * Which keys differ, when `keys` were given and their digests differ: missing (to resend) and
   * extra. Undefined when the key sets agree or no keys were given.
   */
  readonly keyDifferences?: KeyDifferences;
  /** Attempts the Reconcile call took (1 = no retry). */
  readonly attempts: number;
  /** Calls the whole reconciliation made: 1, plus the DigestKeys and ListKeys of the search. */
  readonly calls: number;
}

/** The wire request of `input`. */
export function toReconcileRequest(input: ReconcileInput, keys?: KeyDigest): ReconcileRequest {
  return create(ReconcileRequestSchema, {
    scope: scopeOf(input),
    figures: {
      counts: { ...input.figures.counts },
      currencies: input.figures.currencies.map((c) => ({ ...c })),
      tenders: input.figures.tenders.map((t) => ({ ...t })),
    },
    ...(keys && { keys: { ...keys } }),
  });
}

/** The wire scope of `input`. */
export function scopeOf(input: ReconcileInput): ReconcileScope {
  if ((input.businessDay === undefined) === (input.occurred === undefined)) {
    throw new TypeError("reconcile: give businessDay or occurred, exactly one of them");
  }
  const period =
    input.businessDay !== undefined
      ? { case: "businessDay" as const, value: input.businessDay }
      : {
          case: "occurred" as const,
          value: {
            start: timestampFromDate((input.occurred as { from: Date }).from),
            end: timestampFromDate((input.occurred as { to: Date }).to),
          },
        };
  return create(ReconcileScopeSchema, {
    locationId: input.locationId,
    registerId: input.registerId ?? "",
    period,
  });
}

/** The typed answer of a wire response. */
export function fromReconcileResponse(
  res: ReconcileResponse,
  attempts: number,
): Omit<ReconcileAnswer, "calls" | "keyDifferences"> {
  return {
    match: res.match,
    server: figuresOf(res.server),
    // A tender figure names its tender type in the wire's figure path ("tenders[TENDER_TYPE_CARD].payments").
    differences: res.differences.map((d) => ({
      ...fromWireFigure(d.figure),
      currency: d.currency,
      gateway: d.gateway,
      server: d.server,
    })),
    snapshotAt: res.snapshotAt ? timestampDate(res.snapshotAt) : new Date(0),
    rowsWithoutLedger: res.rowsWithoutLedger,
    keys: { count: res.keys?.count ?? 0n, digest: res.keys?.digest ?? 0n },
    attempts,
  };
}

function figuresOf(f: ReconcileFigures | undefined): ZReport {
  const c = f?.counts;
  return {
    counts: {
      sales: c?.sales ?? 0n,
      returns: c?.returns ?? 0n,
      exchanges: c?.exchanges ?? 0n,
      postVoids: c?.postVoids ?? 0n,
    },
    currencies: (f?.currencies ?? []).map((x) => ({
      currency: x.currency,
      grossMinor: x.grossMinor,
      discountMinor: x.discountMinor,
      serviceChargeMinor: x.serviceChargeMinor,
      taxMinor: x.taxMinor,
      includedTaxMinor: x.includedTaxMinor,
      roundingMinor: x.roundingMinor,
      tipMinor: x.tipMinor,
      netMinor: x.netMinor,
      totalMinor: x.totalMinor,
      transactions: x.transactions,
    })),
    tenders: (f?.tenders ?? []).map((x) => ({
      currency: x.currency,
      tenderType: x.tenderType,
      payments: x.payments,
      amountMinor: x.amountMinor,
      tipMinor: x.tipMinor,
    })),
  };
}
