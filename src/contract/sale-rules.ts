/**
 * The arithmetic of a sale, in one place: the server's validation checks a sale against it, and
 * whatever builds a sale (the CSV reader, gen-sales, tests) computes totals with it, so both
 * sides always agree to the minor unit. Money is integer minor units of the sale's currency;
 * quantities are thousandths of a unit (proto/pos/ingest/v1/sale.proto).
 */

/** The amounts of one line that its totals depend on. */
export interface LineAmounts {
  readonly quantityMilli: bigint;
  readonly unitPriceMinor: bigint;
  readonly discountMinor: bigint;
  readonly taxMinor: bigint;
}

/** A sale's totals, as `Totals` in the contract carries them. */
export interface SaleTotals {
  readonly subtotalMinor: bigint;
  readonly discountMinor: bigint;
  readonly taxMinor: bigint;
  readonly totalMinor: bigint;
}

/**
 * A line's amount before discount and tax: unit price × quantity, rounded half up to whole minor
 * units (quantities are thousandths, so 1.5 kg at 333 is 499.5, stored as 500). Defined for the
 * non-negative quantities and prices a v1 sale carries.
 */
export function lineAmountMinor(line: Pick<LineAmounts, "quantityMilli" | "unitPriceMinor">) {
  return (line.unitPriceMinor * line.quantityMilli + 500n) / 1000n;
}

/** What the total must be: subtotal − discount + tax (tax is added on top of prices in v1). */
export function totalMinorOf(t: Omit<SaleTotals, "totalMinor">): bigint {
  return t.subtotalMinor - t.discountMinor + t.taxMinor;
}

/** The totals a sale with these lines must state: sums of line amounts, discounts and taxes. */
export function totalsOf(lines: Iterable<LineAmounts>): SaleTotals {
  let subtotalMinor = 0n;
  let discountMinor = 0n;
  let taxMinor = 0n;
  for (const line of lines) {
    subtotalMinor += lineAmountMinor(line);
    discountMinor += line.discountMinor;
    taxMinor += line.taxMinor;
  }
  return {
    subtotalMinor,
    discountMinor,
    taxMinor,
    totalMinor: totalMinorOf({ subtotalMinor, discountMinor, taxMinor }),
  };
}
