import { type Sale, TenderType, TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { calendarDayMs } from "./calendar-day.js";

/**
 * What a stored transaction does to the books: the signed values reports sum (the `sales`
 * ledger columns and the `net_sales_daily` view). One definition for the server that writes them
 * and the backfill that fills older rows, so a row means the same whichever path wrote it.
 * Browser-safe: it imports only the generated contract.
 */

/** A transaction kind as stored (`sales.kind`, `sales.original_kind`). */
export type LedgerKind = "sale" | "return" | "exchange" | "post_void";

/** The transaction a return, exchange or post-void refers to, with its identity resolved. */
export interface LedgerOriginal {
  readonly source: string;
  readonly locationId: string;
  readonly saleId: string;
  /** The key the original was stored under; null when the message does not say. */
  readonly idempotencyKey: string | null;
  /** The original's kind; null when the message does not say (a return may leave it out). */
  readonly kind: LedgerKind | null;
}

/** The ledger values of one transaction; every amount in minor units, with σ applied. */
export interface SaleLedger extends LedgerAmounts {
  readonly kind: LedgerKind;
  readonly original: LedgerOriginal | null;
  /** The stated business day, "YYYY-MM-DD"; null when not stated (reports use occurred_at's UTC date). */
  readonly businessDay: string | null;
  /** One per payment, in the sale's order (the `sales.tender_*` columns). */
  readonly tenders: readonly LedgerTender[];
}

/**
 * One payment as the books see it: its tender type and its amount and tip with σ applied, so a
 * post-void's payments cancel its original's as its totals do. A payment counts σ (+1, a
 * post-void's −1) in a Z report's payment count: `ledgerSign(kind)`.
 */
export interface LedgerTender {
  readonly tenderType: TenderType;
  readonly amountMinor: bigint;
  readonly tipMinor: bigint;
}

/** A transaction's amounts in signed minor units, as the ledger columns hold them. */
export interface LedgerAmounts {
  readonly grossMinor: bigint;
  readonly discountMinor: bigint;
  readonly serviceChargeMinor: bigint;
  /** Tax added on top plus tax included in prices. */
  readonly taxMinor: bigint;
  readonly includedTaxMinor: bigint;
  readonly roundingMinor: bigint;
  readonly tipMinor: bigint;
  /** Gross − discount − included tax: what the business earned, before added tax and fees. */
  readonly netMinor: bigint;
  /** Gross − discount + service charge + added tax + rounding. */
  readonly totalMinor: bigint;
}

/** Every amount 0: a plain sale's, or an empty sum's, starting point. */
export const ZERO_AMOUNTS: LedgerAmounts = Object.freeze({
  grossMinor: 0n,
  discountMinor: 0n,
  serviceChargeMinor: 0n,
  taxMinor: 0n,
  includedTaxMinor: 0n,
  roundingMinor: 0n,
  tipMinor: 0n,
  netMinor: 0n,
  totalMinor: 0n,
});

/**
 * A sale the ledger cannot represent (a kind this build does not know, a business day that is
 * no calendar date): validation refuses these first, so this is the last line, naming the field
 * as validation would rather than storing a row that means nothing.
 */
export class LedgerError extends RangeError {
  override readonly name = "LedgerError";
  constructor(
    readonly field: string,
    readonly description: string,
  ) {
    super(`${field}: ${description}`);
  }
}

const KINDS: Readonly<Record<number, LedgerKind>> = {
  [TransactionKind.UNSPECIFIED]: "sale",
  [TransactionKind.SALE]: "sale",
  [TransactionKind.RETURN]: "return",
  [TransactionKind.EXCHANGE]: "exchange",
  [TransactionKind.POST_VOID]: "post_void",
};

/**
 * σ of a kind: −1 for a post-void, which repeats its original's figures and is stored negated,
 * +1 for every other kind, whose figures already carry their sign (a return's are negative).
 */
export function ledgerSign(kind: LedgerKind): 1n | -1n {
  return kind === "post_void" ? -1n : 1n;
}

/**
 * The ledger values of a validated sale. A post-void repeats its original's totals as they were
 * and is stored negated (σ = −1), so a void and its original sum to zero on every column; every
 * other kind already carries its sign in its totals (σ = +1). The original's empty location or
 * source means this transaction's, and is stored resolved so reports join without rules. Each
 * payment becomes a tender, its amount and tip times σ too.
 *
 * @throws LedgerError for what validation refuses and the ledger cannot represent (a kind this
 * build does not know, a tender type it does not know, a business day that is not a calendar
 * date).
 */
export function ledger(sale: Sale): SaleLedger {
  const kind = kindOf(sale.kind, "sale.kind");
  const sigma = ledgerSign(kind);
  const t = sale.totals;
  const subtotal = t?.subtotalMinor ?? 0n;
  const discount = t?.discountMinor ?? 0n;
  const addedTax = t?.taxMinor ?? 0n;
  const includedTax = t?.includedTaxMinor ?? 0n;
  const o = sale.original;
  return {
    kind,
    original: o
      ? {
          source: o.source || sale.source,
          locationId: o.locationId || sale.locationId,
          saleId: o.saleId,
          idempotencyKey: o.idempotencyKey || null,
          kind:
            o.kind === TransactionKind.UNSPECIFIED ? null : kindOf(o.kind, "sale.original.kind"),
        }
      : null,
    businessDay: businessDayOf(sale.businessDay),
    tenders: sale.payments.map((p, i) => ({
      tenderType: tenderTypeOf(p.tenderType, `sale.payments[${i}].tender_type`),
      amountMinor: sigma * p.amountMinor,
      tipMinor: sigma * p.tipMinor,
    })),
    grossMinor: sigma * subtotal,
    discountMinor: sigma * discount,
    serviceChargeMinor: sigma * (t?.serviceChargeMinor ?? 0n),
    taxMinor: sigma * (addedTax + includedTax),
    includedTaxMinor: sigma * includedTax,
    roundingMinor: sigma * (t?.roundingMinor ?? 0n),
    tipMinor: sigma * (t?.tipMinor ?? 0n),
    netMinor: sigma * (subtotal - discount - includedTax),
    totalMinor: sigma * (t?.totalMinor ?? 0n),
  };
}

function kindOf(kind: TransactionKind, field: string): LedgerKind {
  const stored = KINDS[kind];
  if (stored === undefined) throw new LedgerError(field, `unknown transaction kind ${kind}`);
  return stored;
}

// The stored column is int2 and a report names every type: a number this build does not know
// (validation refuses it; an old row could hold one) must not be stored as a type of nothing.
function tenderTypeOf(type: TenderType, field: string): TenderType {
  if (!(type in TenderType)) throw new LedgerError(field, `unknown tender type ${type}`);
  return type;
}

function businessDayOf(day: string): string | null {
  if (day === "") return null;
  if (calendarDayMs(day) === undefined) {
    throw new LedgerError("sale.business_day", "must be a calendar date, YYYY-MM-DD");
  }
  return day;
}
