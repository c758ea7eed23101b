/**
 * The line items of a transaction and the basket discounts they share (I1, I2, I4's per-line
 * half, I5-I7 through check-taxes), and which line kinds each transaction kind allows.
 */
import {
  type LineItem,
  LineKind,
  type Sale,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkTaxAmounts, checkTaxFields } from "./check-taxes.js";
import {
  MAX_AMOUNT_MINOR,
  MAX_BASKET_DISCOUNTS,
  MAX_QUANTITY_MILLI,
  MAX_RATE_PPM,
  MAX_UNIT_PRICE_SCALE,
  type SaleLimits,
} from "./limits.js";
import { addedTaxOf, lineAmount, scaleFactor } from "./sale-rules.js";
import type { Violations } from "./violations.js";

/**
 * The kind whose rules a transaction is checked by: its own, or for a post-void its original's.
 * POST_VOID here means the kind cannot be told (a void of a void, no original, an unknown kind,
 * each named on its own): no sign rule is applied then, so that one mistake is one violation.
 */
export type RulesKind =
  | TransactionKind.SALE
  | TransactionKind.RETURN
  | TransactionKind.EXCHANGE
  | TransactionKind.POST_VOID;

/** Checks every line of `sale` under the rules of `kind`. */
export function checkLines(v: Violations, sale: Sale, kind: RulesKind, limits: SaleLimits): void {
  if (sale.lineItems.length === 0) v.add("sale.line_items", "must have at least one line");
  if (sale.lineItems.length > limits.maxLineItems) {
    v.add("sale.line_items", `must have at most ${limits.maxLineItems} lines`);
    return;
  }
  let sold = 0;
  let returned = 0;
  sale.lineItems.forEach((item, i) => {
    checkLine(v, sale, item, `sale.line_items[${i}]`, kind);
    if (item.voided) return;
    if (item.kind === LineKind.RETURN) returned++;
    else sold++;
  });
  if (kind === TransactionKind.EXCHANGE && (sold === 0 || returned === 0)) {
    v.add("sale.line_items", "an exchange must have both sold and returned lines");
  }
}

function checkLine(v: Violations, sale: Sale, item: LineItem, at: string, kind: RulesKind) {
  // v1's checks first, in v1's order, so a v1 sale reads exactly as it did.
  v.textAt(at, ".sku", item.sku, 1, 128);
  v.freeTextAt(at, ".name", item.name, 0, 256);
  const qtyOk = v.rangeAt(at, ".quantity_milli", item.quantityMilli, 1n, MAX_QUANTITY_MILLI);
  const priceOk = checkPrice(v, at, item);
  const taxOk = v.rangeAt(at, ".tax_minor", item.taxMinor, 0n, MAX_AMOUNT_MINOR);
  let amount: bigint | undefined;
  let discountOk = false;
  if (qtyOk && priceOk) {
    amount = lineAmount(item, sale.lineRounding);
    discountOk = v.rangeAt(
      at,
      ".discount_minor",
      item.discountMinor,
      0n,
      amount,
      "the line's amount",
    );
  }

  if (!(item.kind in LineKind)) v.add(`${at}.kind`, "must be a known line kind");
  else if (!item.voided) checkLineKind(v, at, item.kind, kind);
  v.textAt(at, ".line_id", item.lineId, 0, 64);
  if (v.textAt(at, ".original_line_id", item.originalLineId, 0, 64) && item.originalLineId) {
    if (item.kind !== LineKind.RETURN) {
      v.add(`${at}.original_line_id`, "is only for return lines");
    } else if (!sale.original) {
      v.add(`${at}.original_line_id`, "needs sale.original, the transaction it refers to");
    }
  }

  const shares = checkApplied(v, sale, item, at);
  let base: bigint | undefined;
  if (amount !== undefined && discountOk && shares !== undefined) {
    if (item.discountMinor + shares > amount) {
      v.add(
        `${at}.discount_minor`,
        "plus the applied basket discounts must be at most the line's amount",
      );
    } else base = amount - item.discountMinor - shares;
  }

  if (checkTaxFields(v, `${at}.taxes`, item.taxes) && item.taxes.length > 0) {
    if (base !== undefined && !item.voided) checkTaxAmounts(v, `${at}.taxes`, item.taxes, base);
    if (taxOk)
      v.equalAt(
        at,
        ".tax_minor",
        item.taxMinor,
        addedTaxOf(item.taxes),
        "the sum of its added taxes",
      );
  }
}

/** I1's inputs: one price representation, in range. True when the line amount can be computed. */
function checkPrice(v: Violations, at: string, item: LineItem): boolean {
  const scale = item.unitPriceScale;
  if (scale === 0) {
    const ok = v.rangeAt(at, ".unit_price_minor", item.unitPriceMinor, 0n, MAX_AMOUNT_MINOR);
    if (item.unitPriceScaled === 0n) return ok;
    v.add(`${at}.unit_price_scaled`, "must be 0 when unit_price_scale is 0");
    return false;
  }
  if (scale > MAX_UNIT_PRICE_SCALE) {
    v.add(`${at}.unit_price_scale`, `must be 0-${MAX_UNIT_PRICE_SCALE}`);
    return false;
  }
  let ok = true;
  if (item.unitPriceMinor !== 0n) {
    v.add(`${at}.unit_price_minor`, "must be 0 when unit_price_scale is set");
    ok = false;
  }
  const max = MAX_AMOUNT_MINOR * scaleFactor(scale);
  return v.rangeAt(at, ".unit_price_scaled", item.unitPriceScaled, 0n, max) && ok;
}

/** Which line kinds each transaction kind allows, for a line that counts (not voided). */
function checkLineKind(v: Violations, at: string, line: LineKind, kind: RulesKind): void {
  if (kind === TransactionKind.SALE && line === LineKind.RETURN) {
    v.add(`${at}.kind`, "must not be LINE_KIND_RETURN in a sale");
  } else if (kind === TransactionKind.RETURN && line !== LineKind.RETURN) {
    v.add(`${at}.kind`, "must be LINE_KIND_RETURN in a return");
  }
}

/** A line's applied discount shares (I2, I4's per-line rules); their sum, or undefined if bad. */
function checkApplied(v: Violations, sale: Sale, item: LineItem, at: string): bigint | undefined {
  const applied = item.appliedDiscounts;
  if (applied.length === 0) return 0n;
  if (item.voided) {
    v.add(`${at}.applied_discounts`, "must be empty on a voided line");
    return undefined;
  }
  if (applied.length > MAX_BASKET_DISCOUNTS) {
    v.add(`${at}.applied_discounts`, `must have at most ${MAX_BASKET_DISCOUNTS} entries`);
    return undefined;
  }
  const before = v.count;
  const count = sale.basketDiscounts.length;
  const seen = new Set<number>();
  let sum = 0n;
  applied.forEach((a, j) => {
    const f = `${at}.applied_discounts[${j}]`;
    if (a.discountIndex >= count) {
      v.add(`${f}.discount_index`, `must be the index of one of the ${count} basket discounts`);
    } else if (seen.has(a.discountIndex)) {
      v.add(`${f}.discount_index`, "names a basket discount already applied to this line");
    }
    seen.add(a.discountIndex);
    v.rangeAt(f, ".amount_minor", a.amountMinor, 1n, MAX_AMOUNT_MINOR);
    sum += a.amountMinor;
  });
  return v.count === before ? sum : undefined;
}

/** The basket discounts' own fields; their allocation (I4) is compared with the totals. */
export function checkBasketDiscounts(v: Violations, sale: Sale): void {
  const discounts = sale.basketDiscounts;
  if (discounts.length > MAX_BASKET_DISCOUNTS) {
    v.add("sale.basket_discounts", `must have at most ${MAX_BASKET_DISCOUNTS} discounts`);
    return;
  }
  const codes = new Set<string>();
  discounts.forEach((d, k) => {
    const f = `sale.basket_discounts[${k}]`;
    if (v.textAt(f, ".code", d.code, 1, 64)) {
      if (codes.has(d.code)) v.add(`${f}.code`, "is used by another basket discount");
      codes.add(d.code);
    }
    v.freeTextAt(f, ".name", d.name, 0, 128);
    v.rangeAt(f, ".amount_minor", d.amountMinor, 1n, MAX_AMOUNT_MINOR);
    v.rangeAt(f, ".rate_ppm", d.ratePpm, 0n, MAX_RATE_PPM);
  });
}

/** I4: each basket discount's shares over the non-voided lines add up to its amount. */
export function checkAllocation(v: Violations, sale: Sale): void {
  const shares = sale.basketDiscounts.map(() => 0n);
  for (const line of sale.lineItems) {
    if (line.voided) continue;
    for (const a of line.appliedDiscounts) {
      shares[a.discountIndex] = (shares[a.discountIndex] ?? 0n) + a.amountMinor;
    }
  }
  sale.basketDiscounts.forEach((d, k) => {
    const f = `sale.basket_discounts[${k}].amount_minor`;
    v.equal(f, d.amountMinor, shares[k] ?? 0n, "the sum of its shares applied to lines");
  });
}
