import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Sale, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { type LedgerAmounts, type LedgerKind, ledger, ledgerSign, ZERO_AMOUNTS } from "./ledger.js";

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
 * - Tenders are summed per (currency, tender type) over the payment lines: each line counts σ
 *   (+1, a post-void's −1) and adds σ·amount and σ·tip, so a void cancels its original's tenders
 *   and a return's refund tender (negative as sent) lowers its type's sum. A pair appears when any
 *   payment line has it, even if its sums cancel to zero, as a currency does.
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

/** One tender type's sums in one currency, over the payment lines (signed minor units). */
export interface ZReportTender {
  readonly currency: string;
  readonly tenderType: TenderType;
  /** Σ σ over the payment lines: a post-void's count −1. */
  readonly payments: bigint;
  readonly amountMinor: bigint;
  readonly tipMinor: bigint;
}

/**
 * A scope's Z-report figures: counts by kind, sums per currency (in code order) and tender sums
 * per (currency, tender type) (currency code order, then tender type number).
 */
export interface ZReport {
  readonly counts: ZReportCounts;
  readonly currencies: readonly ZReportCurrency[];
  readonly tenders: readonly ZReportTender[];
}

/** One figure two reports disagree on. */
export interface FigureDifference {
  /** "counts.sales", "currencies.tax_minor", "tenders.amount_minor", … (the proto field path, without indexes). */
  readonly figure: string;
  /** The currency of a `currencies.*` or `tenders.*` figure; "" otherwise. */
  readonly currency: string;
  /** The tender type of a `tenders.*` figure; absent otherwise. */
  readonly tenderType?: TenderType;
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

/** The figures of a tender, in the order they are compared and listed. */
export const TENDER_FIGURES = [
  ["payments", "payments"],
  ["amountMinor", "amount_minor"],
  ["tipMinor", "tip_minor"],
] as const satisfies readonly (readonly [keyof ZReportTender, string])[];

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

/** A tender with every sum 0. */
export function emptyTender(currency: string, tenderType: TenderType): ZReportTender {
  return { currency, tenderType, payments: 0n, amountMinor: 0n, tipMinor: 0n };
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
  private readonly byTender = new Map<
    string,
    { -readonly [K in keyof ZReportTender]: ZReportTender[K] }
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
    const sigma = ledgerSign(l.kind);
    for (const p of l.tenders) {
      const key = tenderKey(sale.currency, p.tenderType);
      const t = this.byTender.get(key) ?? { ...emptyTender(sale.currency, p.tenderType) };
      t.payments += sigma;
      t.amountMinor += p.amountMinor;
      t.tipMinor += p.tipMinor;
      this.byTender.set(key, t);
    }
    this.transactions++;
  }

  /** The sum so far, currencies in code order. */
  report(): ZReport {
    return {
      counts: { ...this.counts },
      currencies: [...this.byCurrency.values()].map((c) => ({ ...c })).sort(byCode),
      tenders: [...this.byTender.values()].map((t) => ({ ...t })).sort(byTender),
    };
  }
}

/**
 * Every figure on which `gateway` and `server` differ: counts first, then currency by currency
 * in code order, each currency's figures in `CURRENCY_FIGURES` order, then tender by tender
 * (currency, then tender type), each in `TENDER_FIGURES` order. A currency or a (currency, tender
 * type) pair one side lacks compares as all zeros, so one the server never saw lists each figure
 * the gateway has.
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
  const myTenders = new Map(gateway.tenders.map((t) => [tenderKey(t.currency, t.tenderType), t]));
  const theirTenders = new Map(server.tenders.map((t) => [tenderKey(t.currency, t.tenderType), t]));
  const pairs = [...new Set([...myTenders.keys(), ...theirTenders.keys()])]
    .map((key) => (myTenders.get(key) ?? theirTenders.get(key)) as ZReportTender)
    .sort(byTender);
  for (const pair of pairs) {
    const key = tenderKey(pair.currency, pair.tenderType);
    const g = myTenders.get(key) ?? emptyTender(pair.currency, pair.tenderType);
    const s = theirTenders.get(key) ?? emptyTender(pair.currency, pair.tenderType);
    for (const [k, name] of TENDER_FIGURES) {
      if (g[k] !== s[k]) {
        differences.push({
          figure: `tenders.${name}`,
          currency: pair.currency,
          tenderType: pair.tenderType,
          gateway: g[k],
          server: s[k],
        });
      }
    }
  }
  return differences;
}

/** Orders tenders by currency code, then by tender type number, as the rules compare them. */
export function byTender(a: ZReportTender, b: ZReportTender): number {
  return byCode(a, b) || a.tenderType - b.tenderType;
}

function tenderKey(currency: string, tenderType: TenderType): string {
  return `${currency} ${tenderType}`;
}

/** Orders currencies by code, as the rules compare them (not by a database's collation). */
export function byCode(a: { currency: string }, b: { currency: string }): number {
  return a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0;
}

const WIRE_TENDER_FIGURE = /^tenders\[(TENDER_TYPE_[A-Z_]+|\d+)\]\.([a-z_]+)$/;

/**
 * A difference's `figure` as the wire's `FigureDifference` carries it. That message has no field
 * for a tender type, so a tender figure names its type as a selector in the path:
 * "tenders[TENDER_TYPE_CARD].amount_minor", the enum value's proto name (what the JSON mapping
 * prints for `TenderFigures.tender_type`), or its number for a type this build does not know.
 * Every other figure is its name as is.
 */
export function wireFigure(d: FigureDifference): string {
  if (d.tenderType === undefined) return d.figure;
  return `tenders[${tenderTypeName(d.tenderType)}].${d.figure.slice("tenders.".length)}`;
}

/** The figure name and tender type of a wire `figure` (`wireFigure`'s inverse). */
export function fromWireFigure(figure: string): { figure: string; tenderType?: TenderType } {
  const m = WIRE_TENDER_FIGURE.exec(figure);
  if (!m) return { figure };
  const name = m[1] as string;
  const tenderType = /^\d+$/.test(name)
    ? Number(name)
    : TenderType[name.slice("TENDER_TYPE_".length) as keyof typeof TenderType];
  if (tenderType === undefined) return { figure };
  return { figure: `tenders.${m[2]}`, tenderType };
}

/** "TENDER_TYPE_CARD" for CARD: the proto name; the number for a type this build does not know. */
export function tenderTypeName(type: TenderType): string {
  const name = TenderType[type];
  return name === undefined ? String(type) : `TENDER_TYPE_${name}`;
}

/**
 * A difference named for a person or a log line: "counts.sales", "currencies.tax_minor[USD]",
 * "tenders.amount_minor[USD CARD]". Names and where, never an amount.
 */
export function figureLabel(d: FigureDifference): string {
  if (d.tenderType !== undefined) {
    const type = TenderType[d.tenderType] ?? String(d.tenderType);
    return `${d.figure}[${d.currency} ${type}]`;
  }
  return d.currency ? `${d.figure}[${d.currency}]` : d.figure;
}
