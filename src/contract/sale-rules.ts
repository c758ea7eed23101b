/**
 * The arithmetic of a sale, in one place: the server's validation checks a sale against it, and
 * whatever builds a sale (the CSV reader, gen-sales, a POS gateway, tests) computes totals with
 * it, so both sides always agree to the minor unit. Money is integer minor units of the sale's
 * currency; quantities are thousandths of a unit (proto/pos/ingest/v1/sale.proto).
 *
 * Every amount on a line, charge or tax is a magnitude; the sign comes from the item's kind
 * (+1 sale, -1 return) and voided lines count nowhere. The inputs are structural, so a `Sale`
 * message, its init shape or a plain object all fit.
 */
import { LineKind, RoundingRule, TaxMode, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { cashRound, roundDiv } from "./money.js";

/** The largest int64: totals beyond it cannot be sent. */
export const INT64_MAX = 9_223_372_036_854_775_807n;

/** One tax on a line or charge, as far as the arithmetic needs it. */
export interface LineTaxInput {
  readonly ratePpm?: bigint;
  readonly amountMinor?: bigint;
  readonly mode?: TaxMode;
}

/** One line, as far as the arithmetic needs it; absent fields are the proto defaults. */
export interface LineItemInput {
  readonly quantityMilli?: bigint;
  readonly unitPriceMinor?: bigint;
  readonly unitPriceScaled?: bigint;
  readonly unitPriceScale?: number;
  readonly discountMinor?: bigint;
  readonly taxMinor?: bigint;
  readonly kind?: LineKind;
  readonly voided?: boolean;
  readonly taxes?: readonly LineTaxInput[];
  readonly appliedDiscounts?: readonly { readonly amountMinor?: bigint }[];
}

/** One service charge, as far as the arithmetic needs it. */
export interface ServiceChargeInput {
  readonly amountMinor?: bigint;
  readonly kind?: LineKind;
  readonly taxes?: readonly LineTaxInput[];
}

/** One payment, as far as the totals need it (cash rounding, tips). */
export interface PaymentInput {
  readonly tenderType?: TenderType;
  readonly amountMinor?: bigint;
  readonly tipMinor?: bigint;
}

/** What `computeTotals` reads of a transaction: a `Sale` fits. */
export interface SaleInput {
  readonly lineItems?: readonly LineItemInput[];
  readonly serviceCharges?: readonly ServiceChargeInput[];
  readonly payments?: readonly PaymentInput[];
  readonly cashRounding?:
    | { readonly incrementMinor?: bigint; readonly rule?: RoundingRule }
    | undefined;
  readonly lineRounding?: RoundingRule;
  /** Read only for `rounding_minor` when the cash rounding rule is UNSPECIFIED (the POS's own). */
  readonly totals?: { readonly roundingMinor?: bigint } | undefined;
}

/** All eight totals of a transaction, signed, as `Totals` in the contract carries them. */
export interface TotalsAmounts {
  readonly subtotalMinor: bigint;
  readonly discountMinor: bigint;
  readonly taxMinor: bigint;
  readonly totalMinor: bigint;
  readonly serviceChargeMinor: bigint;
  readonly includedTaxMinor: bigint;
  readonly roundingMinor: bigint;
  readonly tipMinor: bigint;
}

/** +1 for a sold item (kind SALE or UNSPECIFIED), -1 for a returned one. */
export function signOf(kind: LineKind | undefined): 1n | -1n {
  return kind === LineKind.RETURN ? -1n : 1n;
}

/** 10^k for a unit price scale k (0-6). */
export function scaleFactor(scale: number): bigint {
  return SCALE_FACTORS[scale] ?? 10n ** BigInt(scale);
}

// Every line of every sale asks for one; a BigInt power each time showed in profiles.
const SCALE_FACTORS: readonly bigint[] = [1n, 10n, 100n, 1_000n, 10_000n, 100_000n, 1_000_000n];

/**
 * I1: a line's amount before discount and tax, unit price × quantity rounded to whole minor units
 * by `rule`. The unit price is `unit_price_minor`, or `unit_price_scaled` × 10^-scale minor units
 * when `unit_price_scale` is 1-6 (fuel at 179.9 cents: 1799 at scale 1). A magnitude: the line's
 * kind gives its sign.
 */
export function lineAmount(line: LineItemInput, rule: RoundingRule = RoundingRule.UNSPECIFIED) {
  const scale = line.unitPriceScale ?? 0;
  const price = scale > 0 ? (line.unitPriceScaled ?? 0n) : (line.unitPriceMinor ?? 0n);
  return roundDiv(price * (line.quantityMilli ?? 0n), 1000n * scaleFactor(scale), rule);
}

/** I2: a line's whole discount, its own plus its shares of basket discounts (a magnitude). */
export function lineDiscount(line: LineItemInput): bigint {
  let d = line.discountMinor ?? 0n;
  for (const a of line.appliedDiscounts ?? []) d += a.amountMinor ?? 0n;
  return d;
}

/** The sum of the amounts of `taxes` in `mode`. */
export function taxesIn(taxes: readonly LineTaxInput[] | undefined, mode: TaxMode): bigint {
  let sum = 0n;
  for (const t of taxes ?? []) if (t.mode === mode) sum += t.amountMinor ?? 0n;
  return sum;
}

/** I7: what a line's `tax_minor` must be when it lists `taxes`: the sum of the ADDITIVE ones. */
export function addedTaxOf(taxes: readonly LineTaxInput[] | undefined): bigint {
  return taxesIn(taxes, TaxMode.ADDITIVE);
}

/** Totals that follow from the items alone (I8, I9), before cash rounding. */
export interface ItemSums {
  readonly subtotalMinor: bigint;
  readonly discountMinor: bigint;
  readonly serviceChargeMinor: bigint;
  readonly taxMinor: bigint;
  readonly includedTaxMinor: bigint;
}

/** I8 and I9 over the non-voided lines and the charges, each signed by its kind. */
export function itemSums(sale: SaleInput): ItemSums {
  const rule = sale.lineRounding ?? RoundingRule.UNSPECIFIED;
  let subtotalMinor = 0n;
  let discountMinor = 0n;
  let serviceChargeMinor = 0n;
  let taxMinor = 0n;
  let includedTaxMinor = 0n;
  for (const line of sale.lineItems ?? []) {
    if (line.voided) continue;
    const s = signOf(line.kind);
    subtotalMinor += s * lineAmount(line, rule);
    discountMinor += s * lineDiscount(line);
    taxMinor += s * (line.taxMinor ?? 0n);
    includedTaxMinor += s * taxesIn(line.taxes, TaxMode.INCLUSIVE);
  }
  for (const charge of sale.serviceCharges ?? []) {
    const s = signOf(charge.kind);
    serviceChargeMinor += s * (charge.amountMinor ?? 0n);
    taxMinor += s * addedTaxOf(charge.taxes);
    includedTaxMinor += s * taxesIn(charge.taxes, TaxMode.INCLUSIVE);
  }
  return { subtotalMinor, discountMinor, serviceChargeMinor, taxMinor, includedTaxMinor };
}

/** I10 without rounding: what the items make due, subtotal - discount + service charge + tax. */
export function dueOf(s: ItemSums): bigint {
  return s.subtotalMinor - s.discountMinor + s.serviceChargeMinor + s.taxMinor;
}

/** The sum of the non-cash payments' amounts (what cash rounding leaves alone). */
export function nonCashPaid(payments: readonly PaymentInput[] | undefined): bigint {
  let sum = 0n;
  for (const p of payments ?? []) {
    if (p.tenderType !== TenderType.CASH) sum += p.amountMinor ?? 0n;
  }
  return sum;
}

/**
 * The totals a transaction must state (I8-I12), for every kind: sums over the non-voided lines
 * and the charges, signed by kind; cash rounding of the cash part (the due less the non-cash
 * payments; with no payments yet, all of it) by the stated rule, or the stated
 * `totals.rounding_minor` when the rule is the POS's own; tips summed from the payments. A
 * post-void states its original's totals, so it is computed as the original's kind. Throws a
 * RangeError when a total does not fit int64, since such a transaction cannot be sent.
 */
export function computeTotals(sale: SaleInput): TotalsAmounts {
  const sums = itemSums(sale);
  const due = dueOf(sums);
  let roundingMinor = 0n;
  const cr = sale.cashRounding;
  if (cr) {
    const rule = cr.rule ?? RoundingRule.UNSPECIFIED;
    roundingMinor =
      rule === RoundingRule.UNSPECIFIED
        ? (sale.totals?.roundingMinor ?? 0n)
        : cashRound(due - nonCashPaid(sale.payments), cr.incrementMinor ?? 1n, rule);
  }
  let tipMinor = 0n;
  for (const p of sale.payments ?? []) tipMinor += p.tipMinor ?? 0n;
  const totals = { ...sums, totalMinor: due + roundingMinor, roundingMinor, tipMinor };
  for (const v of Object.values(totals)) {
    if (v > INT64_MAX || v < -INT64_MAX)
      throw new RangeError("totals: amounts too large to add up");
  }
  return totals;
}

// The v1 API, kept for its callers: a v1 sale is all sale lines, tax added, rounded half up.

/** The amounts of one v1 line that its totals depend on. */
export interface LineAmounts {
  readonly quantityMilli: bigint;
  readonly unitPriceMinor: bigint;
  readonly discountMinor: bigint;
  readonly taxMinor: bigint;
}

/** A v1 sale's four totals. */
export interface SaleTotals {
  readonly subtotalMinor: bigint;
  readonly discountMinor: bigint;
  readonly taxMinor: bigint;
  readonly totalMinor: bigint;
}

/**
 * A v1 line's amount: unit price × quantity rounded half up (1.5 kg at 333 is 499.5, stored as
 * 500). `lineAmount` with the default rule and scale 0.
 */
export function lineAmountMinor(line: Pick<LineAmounts, "quantityMilli" | "unitPriceMinor">) {
  return lineAmount(line);
}

/** What a v1 total must be: subtotal − discount + tax (tax is added on top of prices in v1). */
export function totalMinorOf(t: Omit<SaleTotals, "totalMinor">): bigint {
  return t.subtotalMinor - t.discountMinor + t.taxMinor;
}

/** The four totals a v1 sale with these lines must state. */
export function totalsOf(lines: Iterable<LineAmounts>): SaleTotals {
  const s = itemSums({ lineItems: [...lines] });
  const { subtotalMinor, discountMinor, taxMinor } = s;
  return { subtotalMinor, discountMinor, taxMinor, totalMinor: totalMinorOf(s) };
}
