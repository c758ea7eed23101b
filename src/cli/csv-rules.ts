import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { currencyExponent } from "../contract/iso4217.js";
import { allocate } from "../contract/money.js";
import { computeTotals, type LineAmounts, lineAmount, totalsOf } from "../contract/sale-rules.js";
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

/** The CSV reader's arithmetic: the rules module's own, so a file's totals are the server's. */
export const CSV_RULES: CsvSaleRules = {
  computeTotals: (sale: SaleInit) => computeTotals(sale),
  currencyExponent,
  allocate: (amount, weights) =>
    // A file may leave a discount's shares to the reader over lines whose bases are all 0; the
    // server then names the unallocated discount, so zeros here rather than an exception.
    weights.some((w) => w > 0n) ? allocate(amount, weights) : weights.map(() => 0n),
  lineAmount: (line, rule) => lineAmount(line, rule),
};
