import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  LineKind,
  RoundingRule,
  type SaleSchema,
  TaxMode,
  TenderType,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { computeTotals, lineAmount, taxFromRate } from "../contract/index.js";
import type { Product, Region, RegionTax } from "./gen-regions.js";

/**
 * The pieces gen-sales builds a transaction from once it has chosen its lines: taxes on what each
 * line costs after its discounts, tenders for what the transaction makes due, the business day.
 */

export type SaleInit = MessageInitShape<typeof SaleSchema>;
/** A line as a plain object (the init shape also admits whole messages, which this never builds). */
export type LineInit = Exclude<NonNullable<SaleInit["lineItems"]>[number], { $typeName: string }>;
type PaymentInit = NonNullable<SaleInit["payments"]>[number];

/** A line before its basket shares and taxes, which depend on the whole basket. */
export interface Draft {
  product: Pick<Product, "sku" | "name" | "food">;
  line: LineInit;
}

/** Basket shares are set: each line's taxes on what it costs after every discount. */
export function finish(drafts: Draft[], region: Region, wholesale = false): LineInit[] {
  return drafts.map((d, i) => {
    const l = d.line;
    const net =
      lineAmount(l, RoundingRule.HALF_UP) -
      (l.discountMinor ?? 0n) -
      (l.appliedDiscounts ?? []).reduce((s, a) => s + (a.amountMinor ?? 0n), 0n);
    const rates: readonly RegionTax[] = wholesale
      ? WHOLESALE_VAT
      : d.product.food
        ? region.food
        : region.general;
    const taxes = taxesOn(net, rates);
    return {
      ...l,
      lineId: String(i + 1),
      taxes,
      taxMinor: taxes
        .filter((t) => t.mode === TaxMode.ADDITIVE)
        .reduce((s, t) => s + t.amountMinor, 0n),
    };
  });
}

/** A UK wholesaler invoices VAT on top of net prices. */
const WHOLESALE_VAT: readonly RegionTax[] = [
  { code: "GB-VAT20", name: "VAT 20% (net)", ratePpm: 200_000n, mode: TaxMode.ADDITIVE },
];

export function taxesOn(base: bigint, rates: readonly RegionTax[]) {
  const inclusive = rates
    .filter((t) => t.mode === TaxMode.INCLUSIVE)
    .reduce((s, t) => s + t.ratePpm, 0n);
  return rates.map((t) => ({
    code: t.code,
    name: t.name,
    ratePpm: t.ratePpm,
    mode: t.mode,
    amountMinor: taxFromRate(base, t.ratePpm, t.mode, inclusive),
  }));
}

/** The wholesale orders: thousands of lines of parts priced in tenths of a penny. */
export function wholesaleLines(n: number, random: () => number): Draft[] {
  return Array.from({ length: n }, (_, i) => ({
    product: { sku: `WH-${String(i).padStart(5, "0")}`, name: "Wholesale part", food: false },
    line: {
      sku: `WH-${String(i).padStart(5, "0")}`,
      name: `Part ${i}`,
      quantityMilli: BigInt(1 + Math.floor(random() * 100)) * 1000n,
      unitPriceScaled: BigInt(1 + Math.floor(random() * 5000)),
      unitPriceScale: 1,
      kind: LineKind.SALE,
    },
  }));
}

/**
 * Tenders for what the items make due: card 55%, cash 30% (banknotes, change given; CHF rounded
 * to 0.05), wallet 10%, card and gift card split 5%; a refund goes back to one tender. Tips on
 * 60% of restaurant card checks (10-20%).
 */
export function pay(
  sale: SaleInit,
  region: Region,
  restaurant: boolean,
  random: () => number,
): void {
  const r = random();
  const tender =
    r < 0.55
      ? TenderType.CARD
      : r < 0.85
        ? TenderType.CASH
        : r < 0.95
          ? TenderType.MOBILE_WALLET
          : TenderType.GIFT_CARD;
  const cash = tender === TenderType.CASH;
  if (cash && region.cashIncrement)
    sale.cashRounding = { incrementMinor: region.cashIncrement, rule: RoundingRule.HALF_UP };
  const due = computeTotals({
    ...sale,
    payments: cash ? [{ tenderType: TenderType.CASH, amountMinor: 0n }] : [],
  });
  const total = due.totalMinor;
  const payments: PaymentInit[] = [];
  if (total === 0n) {
    // Nothing to pay (an even exchange): no tender, and no cash rounding without cash.
    delete sale.cashRounding;
  } else if (tender === TenderType.GIFT_CARD && total > 1n) {
    payments.push(
      { tenderType: TenderType.GIFT_CARD, amountMinor: total / 2n },
      { tenderType: TenderType.CARD, amountMinor: total - total / 2n },
    );
  } else if (cash && total > 0n) {
    const notes = region.notes;
    const note = notes.find((v) => v >= total) ?? (notes[notes.length - 1] as bigint);
    const tendered = ((total + note - 1n) / note) * note;
    payments.push({
      tenderType: TenderType.CASH,
      amountMinor: total,
      tenderedMinor: tendered,
      changeMinor: tendered - total,
    });
  } else {
    const card = tender === TenderType.GIFT_CARD ? TenderType.CARD : tender;
    const tip =
      restaurant && card === TenderType.CARD && total > 0n && random() < 0.6
        ? (total * BigInt(10 + Math.floor(random() * 11))) / 100n
        : 0n;
    payments.push({
      tenderType: card,
      amountMinor: total,
      tipMinor: tip,
      ...(card === TenderType.CARD && {
        cardBrand: random() < 0.6 ? "visa" : "mastercard",
        cardLast4: String(1000 + Math.floor(random() * 9000)),
      }),
    });
  }
  sale.payments = payments;
  sale.totals = computeTotals({ ...sale, payments });
}

/** The POS's business day: the local date, the day closing at 04:00. */
export function businessDay(at: Date, region: Region): string {
  return new Date(at.getTime() + (region.utcOffsetHours - 4) * 3_600_000)
    .toISOString()
    .slice(0, 10);
}
