/**
 * The taxes of one line or service charge: each tax's own fields, and (I5, I6) that an amount
 * stated with a rate is that rate applied to the item's base within one minor unit.
 */
import { type LineTax, TaxMode } from "../../gen/pos/ingest/v1/sale_pb.js";
import { MAX_AMOUNT_MINOR, MAX_RATE_PPM, MAX_TAXES_PER_ITEM } from "./limits.js";
import { PPM, taxFromRate } from "./money.js";
import type { Violations } from "./violations.js";

/**
 * Checks the fields of `taxes` at `at` (e.g. `sale.line_items[0].taxes`); true when every tax is
 * well-formed, so its amounts can be compared with rates.
 */
export function checkTaxFields(v: Violations, at: string, taxes: readonly LineTax[]): boolean {
  if (taxes.length > MAX_TAXES_PER_ITEM) {
    v.add(at, `must have at most ${MAX_TAXES_PER_ITEM} taxes`);
    return false;
  }
  const before = v.count;
  const codes = new Set<string>();
  taxes.forEach((t, i) => {
    const f = `${at}[${i}]`;
    if (v.textAt(f, ".code", t.code, 1, 32)) {
      if (codes.has(t.code)) v.add(`${f}.code`, "is listed twice on this item");
      codes.add(t.code);
    }
    v.freeTextAt(f, ".name", t.name, 0, 128);
    v.rangeAt(f, ".rate_ppm", t.ratePpm, 0n, MAX_RATE_PPM);
    v.rangeAt(f, ".amount_minor", t.amountMinor, 0n, MAX_AMOUNT_MINOR);
    if (t.mode !== TaxMode.ADDITIVE && t.mode !== TaxMode.INCLUSIVE) {
      v.add(`${f}.mode`, "must be TAX_MODE_ADDITIVE or TAX_MODE_INCLUSIVE");
    }
  });
  return v.count === before;
}

/**
 * I5 and I6 for well-formed `taxes` on an item whose base (line amount less discount, or the
 * charge's amount) is `base` >= 0. Included taxes are inside the base: together at most the base,
 * each within one unit of base × rate / (10^6 + Σ included rates). Added taxes apply to the base
 * less the included taxes, each within one unit of that × rate / 10^6. A rate of 0 is not stated:
 * only the bounds apply. A base of 0 carries no tax.
 */
export function checkTaxAmounts(
  v: Violations,
  at: string,
  taxes: readonly LineTax[],
  base: bigint,
): void {
  let inclusiveRates = 0n;
  let included = 0n;
  let overAt = -1;
  taxes.forEach((t, i) => {
    if (t.mode !== TaxMode.INCLUSIVE) return;
    inclusiveRates += t.ratePpm;
    included += t.amountMinor;
    if (included > base && overAt < 0) overAt = i;
  });
  if (overAt >= 0) {
    v.add(`${at}[${overAt}].amount_minor`, `brings the included taxes above the base ${base}`);
    return;
  }
  const net = base - included;
  const n = PPM + inclusiveRates;
  taxes.forEach((t, i) => {
    const f = `${at}[${i}].amount_minor`;
    const inclusive = t.mode === TaxMode.INCLUSIVE;
    const on = inclusive ? base : net;
    if (on === 0n) {
      if (t.amountMinor !== 0n) v.add(f, `must be 0 on a base of 0`);
      return;
    }
    if (t.ratePpm === 0n) return;
    const denominator = inclusive ? n : PPM;
    const error = t.amountMinor * denominator - on * t.ratePpm;
    if (error > denominator || -error > denominator) {
      const expected = taxFromRate(on, t.ratePpm, t.mode, inclusiveRates);
      const how = inclusive ? "included in" : "of";
      v.add(f, `is ${t.amountMinor} but ${t.ratePpm} ppm ${how} ${on} is ${expected} (±1)`);
    }
  });
}
