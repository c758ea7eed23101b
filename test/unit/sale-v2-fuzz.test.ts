import { clone } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Sale, SaleSchema, TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkSale } from "../../src/contract/check-sale.js";
import { computeTotals } from "../../src/contract/sale-rules.js";
import {
  buildTransaction,
  transactionPlan,
  V2_LIMITS,
  V2_NOW_MS,
  validTransaction,
} from "../support/sale-v2-arbitrary.js";

const RUNS = { numRuns: 500 };
const TOTALS = [
  "subtotalMinor",
  "discountMinor",
  "taxMinor",
  "totalMinor",
  "serviceChargeMinor",
  "includedTaxMinor",
  "roundingMinor",
  "tipMinor",
] as const;

function check(sale: Sale) {
  return checkSale(sale, V2_LIMITS, V2_NOW_MS);
}

describe("random valid v2 transactions", () => {
  it("are valid, for every kind and tax mode", () => {
    fc.assert(
      fc.property(validTransaction(), (sale) => {
        expect(check(sale)).toEqual([]);
      }),
      RUNS,
    );
  });

  it("state the totals computeTotals computes (it is deterministic)", () => {
    fc.assert(
      fc.property(transactionPlan, (plan) => {
        const a = buildTransaction(plan);
        const b = buildTransaction(plan);
        expect(b).toEqual(a);
        const { $typeName: _, ...stated } = a.totals as NonNullable<Sale["totals"]>;
        expect(computeTotals(a)).toEqual(stated);
      }),
      { numRuns: 100 },
    );
  });

  it("cover every kind, included and added taxes, rounding, tips, change and voided lines", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validTransaction(), (s) => {
        seen.add(`kind:${s.kind}`);
        if (s.cashRounding && s.totals?.roundingMinor !== 0n) seen.add("rounding");
        if (s.totals?.includedTaxMinor !== 0n) seen.add("included");
        if (s.lineItems.some((l) => l.taxes.some((t) => t.mode === 1))) seen.add("added");
        if (s.payments.some((p) => p.tipMinor !== 0n)) seen.add("tip");
        if (s.payments.some((p) => p.changeMinor !== 0n)) seen.add("change");
        if (s.lineItems.some((l) => l.voided)) seen.add("voided");
        if (s.basketDiscounts.length > 0) seen.add("basket");
        if (s.lineItems.some((l) => l.unitPriceScale > 0)) seen.add("scaled");
        if (s.totals && s.totals.totalMinor < 0n) seen.add("negative");
      }),
      { numRuns: 500, seed: 1 },
    );
    for (const k of [0, 1, 2, 3, 4]) expect(seen).toContain(`kind:${k}`);
    for (const f of [
      "rounding",
      "included",
      "added",
      "tip",
      "change",
      "voided",
      "basket",
      "scaled",
      "negative",
    ]) {
      expect(seen).toContain(f);
    }
  });

  it("any total off by one is refused naming a totals field or the payments", () => {
    fc.assert(
      fc.property(
        validTransaction(),
        fc.constantFrom(...TOTALS),
        fc.constantFrom(1n, -1n),
        (valid, field, delta) => {
          const sale = clone(SaleSchema, valid);
          const t = sale.totals as NonNullable<Sale["totals"]>;
          t[field] += delta;
          const v = check(sale);
          expect(v.length).toBeGreaterThan(0);
          for (const x of v) expect(x.field).toMatch(/^sale\.(totals\.[a-z_]+|payments)$/);
        },
      ),
      RUNS,
    );
  });

  it("a payment off by one is refused", () => {
    fc.assert(
      fc.property(
        validTransaction().filter((s) => s.payments.length > 0),
        fc.nat(),
        fc.constantFrom(1n, -1n),
        (valid, i, delta) => {
          const sale = clone(SaleSchema, valid);
          const p = sale.payments[i % sale.payments.length];
          if (!p) return;
          p.amountMinor += delta;
          // Keep the change consistent, so only the sum (or the cash rounding) is off.
          if (p.tenderedMinor !== 0n) p.changeMinor -= delta;
          fc.pre(p.amountMinor !== 0n && p.changeMinor >= 0n);
          expect(check(sale).length).toBeGreaterThan(0);
        },
      ),
      RUNS,
    );
  });

  it("a post-void is valid exactly when its body is valid as the original's kind", () => {
    fc.assert(
      fc.property(
        validTransaction().filter((s) => s.kind === TransactionKind.POST_VOID),
        (v) => {
          const ofVoid = clone(SaleSchema, v);
          (ofVoid.original as { kind: TransactionKind }).kind = TransactionKind.POST_VOID;
          expect(check(ofVoid)).toEqual([
            { field: "sale.original.kind", description: "a void cannot be voided" },
          ]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
