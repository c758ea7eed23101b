/**
 * Integer money arithmetic for the sale contract: rounding by rule, tax from a rate, allocation
 * of an amount over weights, cash rounding. Everything is bigint minor units, never a float, so
 * whoever builds a sale (POS gateway, CSV reader, gen-sales) and the server that checks it get the
 * same answer to the unit.
 */
import { RoundingRule, TaxMode } from "../../gen/pos/ingest/v1/sale_pb.js";

/** Parts per million: a rate of 19% is 190,000 ppm. */
export const PPM = 1_000_000n;

/**
 * n / d rounded to a whole number by `rule` (d > 0, n of any sign). The rules are symmetric
 * around zero, so a return line rounds to the negation of the same sale line:
 * HALF_UP is half away from zero, HALF_EVEN half to the even neighbour, DOWN toward zero, UP away
 * from zero. UNSPECIFIED rounds HALF_UP (the contract's default for line amounts).
 */
export function roundDiv(n: bigint, d: bigint, rule: RoundingRule): bigint {
  if (d <= 0n) throw new RangeError("roundDiv: the divisor must be positive");
  const q = n / d; // truncates toward zero
  const r = n % d; // has n's sign
  if (r === 0n) return q;
  const away = n < 0n ? q - 1n : q + 1n;
  const twice = (r < 0n ? -r : r) * 2n;
  switch (rule) {
    case RoundingRule.DOWN:
      return q;
    case RoundingRule.UP:
      return away;
    case RoundingRule.HALF_EVEN:
      if (twice > d) return away;
      if (twice < d) return q;
      return q % 2n === 0n ? q : away;
    default:
      return twice >= d ? away : q;
  }
}

/**
 * The tax a rate yields on a base, rounded to the nearest minor unit (half up), as a POS computes
 * it; the server accepts the stated amount within one minor unit of the exact value.
 *
 * - ADDITIVE: `base` is what the tax is added on (for an item that also carries included taxes,
 *   its base less those included amounts), the tax is base × rate / 10^6.
 * - INCLUSIVE: `base` is the tax-inclusive amount, `inclusiveRatesPpm` the sum of every included
 *   rate on the same item (this one among them), the tax is base × rate / (10^6 + Σ rates): with
 *   19% alone, 342 holds 342 × 0.19 / 1.19 = 54.6 → 55.
 */
export function taxFromRate(
  base: bigint,
  ratePpm: bigint,
  mode: TaxMode,
  inclusiveRatesPpm: bigint = ratePpm,
): bigint {
  if (mode === TaxMode.INCLUSIVE) {
    return roundDiv(base * ratePpm, PPM + inclusiveRatesPpm, RoundingRule.HALF_UP);
  }
  if (mode === TaxMode.ADDITIVE) return roundDiv(base * ratePpm, PPM, RoundingRule.HALF_UP);
  throw new RangeError("taxFromRate: the mode must be ADDITIVE or INCLUSIVE");
}

/**
 * Splits `amount` (≥ 0) over `weights` (each ≥ 0, not all 0) in proportion, in whole units, so
 * the parts add up to exactly `amount`: each part gets the floor of its exact share, and the units
 * left over go one each to the largest remainders, ties to the lower index (the largest remainder
 * method). A basket coupon of 300 over line bases 2400 and 800 is [225, 75]. A part can be 0;
 * an applied discount of 0 is not stated, so callers leave those out.
 */
export function allocate(amount: bigint, weights: readonly bigint[]): bigint[] {
  if (amount < 0n) throw new RangeError("allocate: the amount must not be negative");
  let total = 0n;
  for (const w of weights) {
    if (w < 0n) throw new RangeError("allocate: weights must not be negative");
    total += w;
  }
  if (total === 0n) {
    if (amount === 0n) return weights.map(() => 0n);
    throw new RangeError("allocate: cannot split a non-zero amount over zero weights");
  }
  const parts = weights.map((w) => (amount * w) / total);
  const remainders = weights.map((w, i) => ({ i, r: (amount * w) % total }));
  let left = amount - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    parts[i] = (parts[i] ?? 0n) + 1n;
    left--;
  }
  return parts;
}

/**
 * The cash rounding adjustment for `due` (the cash part of the total before rounding, any sign):
 * the multiple of `increment` that `rule` rounds it to, minus `due`. CHF 13.96 to 0.05 half up is
 * 13.95, so the adjustment is -1. `rule` UNSPECIFIED is HALF_UP here; the server only bounds the
 * adjustment in that case, since the POS used a strategy of its own.
 */
export function cashRound(due: bigint, increment: bigint, rule: RoundingRule): bigint {
  if (increment < 1n) throw new RangeError("cashRound: the increment must be at least 1");
  return increment * roundDiv(due, increment, rule) - due;
}
