import { readFileSync } from "node:fs";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { FieldViolation } from "../../src/errors.js";
import { validateSale } from "../../src/ingest/validation.js";

/**
 * v1 sales and what validation said of them when the corpus was captured (before the sale model
 * grows returns, taxes and tenders). Whatever the model gains, a v1 sale must keep its meaning:
 * the same sale is valid, or refused naming the same fields with the same words.
 */
const golden = JSON.parse(readFileSync("test/golden/v1-sales.json", "utf8")) as {
  limits: { maxLineItems: number; maxFutureSkewSeconds: number };
  nowMs: number;
  corpus: { name: string; sale: JsonValue; violations: FieldViolation[] }[];
};

describe("golden v1 sales", () => {
  it("holds valid and invalid sales, so it can tell a change", () => {
    expect(golden.corpus.some((c) => c.violations.length === 0)).toBe(true);
    expect(golden.corpus.some((c) => c.violations.length > 0)).toBe(true);
  });

  it.each(golden.corpus.map((c) => [c.name, c] as const))("%s validates as it did", (_, c) => {
    const sale = fromJson(SaleSchema, c.sale);
    expect(validateSale(sale, golden.limits, golden.nowMs)).toEqual(c.violations);
  });
});
