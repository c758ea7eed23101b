import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { type LineAmounts, lineAmountMinor, totalsOf } from "../contract/sale-rules.js";
import type { CsvSaleRules } from "./csv-sale.js";

type SaleInit = MessageInitShape<typeof SaleSchema>;

const INT64_MAX = 2n ** 63n - 1n;

/** Totals by the server's own rules, for files that carry only line items (and gen-sales). */
export function computedTotals(lines: LineAmounts[]) {
  const totals = totalsOf(lines);
  for (const v of Object.values(totals)) {
    if (v > INT64_MAX || v < -INT64_MAX) throw new Error("totals: amounts too large to add up");
  }
  return totals;
}

/** The CSV reader's arithmetic, from the rules module. */
export const CSV_RULES: CsvSaleRules = {
  computeTotals: (sale: SaleInit) =>
    computedTotals(
      (sale.lineItems ?? []).map((l) => ({
        quantityMilli: l.quantityMilli ?? 0n,
        unitPriceMinor: l.unitPriceMinor ?? 0n,
        discountMinor: l.discountMinor ?? 0n,
        taxMinor: l.taxMinor ?? 0n,
      })),
    ),
  currencyExponent: (code) =>
    Intl.supportedValuesOf("currency").includes(code)
      ? new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions()
          .maximumFractionDigits
      : undefined,
  allocate: (amount, weights) => {
    const total = weights.reduce((a, b) => a + b, 0n);
    if (total === 0n) return weights.map(() => 0n);
    const shares = weights.map((w) => (amount * w) / total);
    let left = amount - shares.reduce((a, b) => a + b, 0n);
    const order = weights
      .map((w, i) => ({ i, r: (amount * w) % total }))
      .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
    for (const { i } of order) {
      if (left === 0n) break;
      shares[i] = (shares[i] ?? 0n) + 1n;
      left--;
    }
    return shares;
  },
  lineAmount: (line) =>
    lineAmountMinor({
      quantityMilli: line.quantityMilli ?? 0n,
      unitPriceMinor: line.unitPriceMinor ?? 0n,
    }),
};
