import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { type LedgerAmounts, type LedgerKind, ledger, ZERO_AMOUNTS } from "./ledger.js";

/**
 * The Z-report rules of reconciliation (docs/design/sale-model-v2.md §9), written once: what a
 * store's end-of-day figures are, computed from the transactions of a scope. The server sums its
 * stored ledger columns by these rules in one statement (src/ingest/reconcile-repository.ts);
 * a gateway computes its own side with `zReport` from the very sales it sent. Browser-safe: it
 * imports only the generated contract and the ledger.
 *
 * - Every transaction counts once, by its kind as stored: a post-void is one post-void, and the
 *   sale it voids stays counted as a sale (a Z report lists voids as their own line).
 * - Amounts are the ledger's: a sale's own totals, a return's or an exchange's as sent (a return
 *   is negative), a post-void's negated, so a void and its original sum to zero on every amount.
 * - A return, exchange or post-void counts on its own business day, the day the money moved, not
 *   its original's.
 * - The business day is the stated `business_day`, else the UTC date of `occurred_at`: the rule
 *   of the `net_sales_daily` view, so a reconciled day and the report's day are the same rows.
 * - Currencies are never added: one set of sums per currency.
 */

/** Transaction counts by kind, each transaction counted once as stored. */
export interface ZReportCounts {
  readonly sales: bigint;
  readonly returns: bigint;
  readonly exchanges: bigint;
  readonly postVoids: bigint;
}

/** One currency's sums in signed minor units (names as the ledger columns). */
export interface ZReportCurrency extends LedgerAmounts {
  readonly currency: string;
  readonly transactions: bigint;
}

/** A scope's Z-report figures: counts by kind and sums per currency (in code order). */
export interface ZReport {
  readonly counts: ZReportCounts;
  readonly currencies: readonly ZReportCurrency[];
}

/** One figure two reports disagree on. */
export interface FigureDifference {
  /** "counts.sales", "currencies.tax_minor", … (the proto field path, without indexes). */
  readonly figure: string;
  /** The currency of a `currencies.*` figure; "" otherwise. */
  readonly currency: string;
  readonly gateway: bigint;
  readonly server: bigint;
}

/** The amount figures of a currency, in the order they are compared and listed. */
export const CURRENCY_FIGURES = [
  ["grossMinor", "gross_minor"],
  ["discountMinor", "discount_minor"],
  ["serviceChargeMinor", "service_charge_minor"],
  ["taxMinor", "tax_minor"],
  ["includedTaxMinor", "included_tax_minor"],
  ["roundingMinor", "rounding_minor"],
  ["tipMinor", "tip_minor"],
  ["netMinor", "net_minor"],
  ["totalMinor", "total_minor"],
  ["transactions", "transactions"],
] as const satisfies readonly (readonly [keyof ZReportCurrency, string])[];

/** The count figures, in the order they are compared and listed. */
export const COUNT_FIGURES = [
  ["sales", "sales"],
  ["returns", "returns"],
  ["exchanges", "exchanges"],
  ["postVoids", "post_voids"],
] as const satisfies readonly (readonly [keyof ZReportCounts, string])[];

const COUNT_OF_KIND: Readonly<Record<LedgerKind, keyof ZReportCounts>> = {
  sale: "sales",
  return: "returns",
  exchange: "exchanges",
  post_void: "postVoids",
};

/** A currency with every sum 0. */
export function emptyCurrency(currency: string): ZReportCurrency {
  return { currency, ...ZERO_AMOUNTS, transactions: 0n };
}

/**
 * The business day a transaction counts on: its stated `business_day`, else the UTC date of its
 * `occurred_at` ("YYYY-MM-DD"). A return or void has its own, whatever its original's was.
 */
export function zReportDay(sale: Sale): string {
  if (sale.businessDay !== "") return sale.businessDay;
  return (sale.occurredAt ? timestampDate(sale.occurredAt) : new Date(0))
    .toISOString()
    .slice(0, 10);
}

/**
 * The Z report of `sales` (already limited to one scope by the caller): what a gateway sends as
 * its figures, computed by the rules the server sums its stored ledger with.
 *
 * @throws LedgerError for a sale the ledger cannot represent (see `ledger`).
 */
export function zReport(sales: Iterable<Sale>): ZReport {
  const tally = new ZReportTally();
  for (const sale of sales) tally.add(sale);
  return tally.report();
}

/**
 * A Z report summed one sale at a time, for a caller that reads its sales as a stream (a day's
 * file) and must not hold them: what `zReport` computes.
 */
export class ZReportTally {
  private readonly counts = { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n };
  private readonly byCurrency = new Map<
    string,
    { -readonly [K in keyof ZReportCurrency]: ZReportCurrency[K] }
  >();
  /** Sales added. */
  transactions = 0;

  /**
   * Counts `sale` in; nothing changes when it throws.
   *
   * @throws LedgerError for a sale the ledger cannot represent (see `ledger`).
   */
  add(sale: Sale): void {
    const l = ledger(sale);
    this.counts[COUNT_OF_KIND[l.kind]]++;
    const c = this.byCurrency.get(sale.currency) ?? { ...emptyCurrency(sale.currency) };
    for (const [key] of CURRENCY_FIGURES) {
      if (key !== "transactions") c[key] += l[key];
    }
    c.transactions++;
    this.byCurrency.set(sale.currency, c);
    this.transactions++;
  }

  /** The sum so far, currencies in code order. */
  report(): ZReport {
    return {
      counts: { ...this.counts },
      currencies: [...this.byCurrency.values()].map((c) => ({ ...c })).sort(byCode),
    };
  }
}

/**
 * Every figure on which `gateway` and `server` differ: counts first, then currency by currency
 * in code order, each currency's figures in `CURRENCY_FIGURES` order. A currency one side lacks
 * compares as all zeros, so a currency the server never saw lists each figure the gateway has.
 */
export function compareZReports(gateway: ZReport, server: ZReport): FigureDifference[] {
  const differences: FigureDifference[] = [];
  for (const [key, name] of COUNT_FIGURES) {
    if (gateway.counts[key] !== server.counts[key]) {
      differences.push({
        figure: `counts.${name}`,
        currency: "",
        gateway: gateway.counts[key],
        server: server.counts[key],
      });
    }
  }
  const mine = new Map(gateway.currencies.map((c) => [c.currency, c]));
  const theirs = new Map(server.currencies.map((c) => [c.currency, c]));
  const codes = [...new Set([...mine.keys(), ...theirs.keys()])].sort();
  for (const code of codes) {
    const g = mine.get(code) ?? emptyCurrency(code);
    const s = theirs.get(code) ?? emptyCurrency(code);
    for (const [key, name] of CURRENCY_FIGURES) {
      if (g[key] !== s[key]) {
        differences.push({
          figure: `currencies.${name}`,
          currency: code,
          gateway: g[key],
          server: s[key],
        });
      }
    }
  }
  return differences;
}

/** Orders currencies by code, as the rules compare them (not by a database's collation). */
export function byCode(a: { currency: string }, b: { currency: string }): number {
  return a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0;
}
