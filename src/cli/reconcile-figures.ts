import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  COUNT_FIGURES,
  CURRENCY_FIGURES,
  emptyCurrency,
  type ZReport,
  type ZReportCurrency,
  zReportDay,
} from "../contract/z-report.js";

/** What `pos-ingest reconcile` compares: one location, optionally one register, one period. */
export interface ReconcileScope {
  readonly locationId: string;
  readonly registerId?: string | undefined;
  /** "YYYY-MM-DD", by `zReportDay` (the server's rule). */
  readonly businessDay?: string | undefined;
  /** `from <= occurred_at < to`, instead of a business day. */
  readonly occurred?: { readonly from: Date; readonly to: Date } | undefined;
}

/** Why a sale of the file is not in the scope (counted, so the user sees what was left out). */
export type OutOfScope = "location" | "register" | "period";

/**
 * Why `sale` is outside `scope`, or undefined when it is in it; by the same rules the server
 * selects its rows with, so both sides compare the same transactions.
 */
export function outOfScope(sale: Sale, scope: ReconcileScope): OutOfScope | undefined {
  if (sale.locationId !== scope.locationId) return "location";
  if (scope.registerId !== undefined && sale.registerId !== scope.registerId) return "register";
  if (scope.businessDay !== undefined) {
    return zReportDay(sale) === scope.businessDay ? undefined : "period";
  }
  if (scope.occurred) {
    // In nanoseconds: a sale at a range's edge must fall on the same side as on the server.
    const at = sale.occurredAt;
    if (!at) return "period";
    const ns = at.seconds * 1_000_000_000n + BigInt(at.nanos);
    const from = BigInt(scope.occurred.from.getTime()) * 1_000_000n;
    const to = BigInt(scope.occurred.to.getTime()) * 1_000_000n;
    return ns >= from && ns < to ? undefined : "period";
  }
  return undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Sums Z reports (each `zReport` of one or a few sales) into the file's: the file is read once
 * and never held in memory, and a sale the ledger cannot represent is named by its own line.
 * Only adds the figures the rules module lists; the rules themselves stay in `zReport`.
 */
export class ZReportTally {
  private readonly counts: Mutable<ZReport["counts"]> = {
    sales: 0n,
    returns: 0n,
    exchanges: 0n,
    postVoids: 0n,
  };
  private readonly currencies = new Map<string, Mutable<ZReportCurrency>>();
  /** Transactions added. */
  transactions = 0;

  add(report: ZReport): void {
    for (const [key] of COUNT_FIGURES) this.counts[key] += report.counts[key];
    for (const c of report.currencies) {
      const into = this.currencies.get(c.currency) ?? { ...emptyCurrency(c.currency) };
      for (const [key] of CURRENCY_FIGURES) into[key] += c[key];
      this.currencies.set(c.currency, into);
      this.transactions += Number(c.transactions);
    }
  }

  /** The sum, currencies in code order (as `zReport` gives them). */
  report(): ZReport {
    const currencies = [...this.currencies.values()].sort((a, b) =>
      a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0,
    );
    return { counts: { ...this.counts }, currencies: currencies.map((c) => ({ ...c })) };
  }
}
