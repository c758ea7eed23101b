import { describe, expect, it } from "vitest";
import { RoundingRule, TaxMode, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { allocate, cashRound, roundDiv, taxFromRate } from "../../src/contract/money.js";
import { computeTotals, lineAmount } from "../../src/contract/sale-rules.js";

const { HALF_UP, HALF_EVEN, DOWN, UP, UNSPECIFIED } = RoundingRule;

describe("roundDiv", () => {
  it.each([
    // n, d, HALF_UP, HALF_EVEN, DOWN, UP
    [4995n, 10n, 500n, 500n, 499n, 500n],
    [4985n, 10n, 499n, 498n, 498n, 499n],
    [4984n, 10n, 498n, 498n, 498n, 499n],
    [4986n, 10n, 499n, 499n, 498n, 499n],
    [5000n, 10n, 500n, 500n, 500n, 500n],
    [0n, 7n, 0n, 0n, 0n, 0n],
  ])("rounds %d / %d by each rule, symmetrically around zero", (n, d, hu, he, dn, up) => {
    expect([HALF_UP, HALF_EVEN, DOWN, UP].map((r) => roundDiv(n, d, r))).toEqual([hu, he, dn, up]);
    expect([HALF_UP, HALF_EVEN, DOWN, UP].map((r) => roundDiv(-n, d, r))).toEqual(
      [hu, he, dn, up].map((x) => -x),
    );
  });

  it("rounds UNSPECIFIED half up, the contract's default", () => {
    expect(roundDiv(25n, 10n, UNSPECIFIED)).toBe(3n);
    expect(roundDiv(-25n, 10n, UNSPECIFIED)).toBe(-3n);
  });

  it("refuses a divisor that is not positive", () => {
    expect(() => roundDiv(1n, 0n, HALF_UP)).toThrow(RangeError);
  });
});

describe("lineAmount", () => {
  it("is v1's half-up rounding for a v1 line", () => {
    expect(lineAmount({ quantityMilli: 1500n, unitPriceMinor: 333n })).toBe(500n);
  });

  it("rounds by the sale's line rounding rule", () => {
    const line = { quantityMilli: 500n, unitPriceMinor: 333n }; // 166.5
    expect([HALF_UP, HALF_EVEN, DOWN, UP].map((r) => lineAmount(line, r))).toEqual([
      167n,
      166n,
      166n,
      167n,
    ]);
  });

  it("prices in fractions of a minor unit with unit_price_scale", () => {
    // Fuel at 179.9 cents a litre, 40 litres: 7196 cents.
    expect(lineAmount({ quantityMilli: 40_000n, unitPriceScaled: 1799n, unitPriceScale: 1 })).toBe(
      7196n,
    );
    // The dataset's 0.001 GBP (0.1 pence) for 1,234 units: 123.4 pence, 123.
    expect(lineAmount({ quantityMilli: 1_234_000n, unitPriceScaled: 1n, unitPriceScale: 1 })).toBe(
      123n,
    );
  });
});

describe("taxFromRate", () => {
  it("takes included tax out of the price, over all included rates", () => {
    expect(taxFromRate(342n, 190_000n, TaxMode.INCLUSIVE)).toBe(55n); // 54.6
    expect(taxFromRate(690n, 26_000n, TaxMode.INCLUSIVE)).toBe(17n); // 17.485
    // Two included rates on one item divide by 1 + both.
    expect(taxFromRate(1100n, 50_000n, TaxMode.INCLUSIVE, 100_000n)).toBe(50n);
  });

  it("adds tax on top of the base", () => {
    expect(taxFromRate(2175n, 62_500n, TaxMode.ADDITIVE)).toBe(136n); // 135.9375
    expect(taxFromRate(725n, 22_500n, TaxMode.ADDITIVE)).toBe(16n); // 16.3125
  });

  it("refuses an unspecified mode", () => {
    expect(() => taxFromRate(100n, 1n, TaxMode.UNSPECIFIED)).toThrow(RangeError);
  });
});

describe("allocate", () => {
  it("splits in proportion when it divides evenly (receipt B's coupon)", () => {
    expect(allocate(300n, [2400n, 800n])).toEqual([225n, 75n]);
  });

  it("gives the leftover units to the largest remainders, ties to the lower index", () => {
    expect(allocate(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocate(10n, [3n, 3n, 4n])).toEqual([3n, 3n, 4n]);
    expect(allocate(2n, [1n, 2n, 2n])).toEqual([0n, 1n, 1n]);
    expect(allocate(7n, [0n, 5n])).toEqual([0n, 7n]);
  });

  it("always adds up to the amount", () => {
    for (const w of [[1n], [7n, 13n, 1n], [999n, 1n, 1n, 1n]]) {
      for (const a of [0n, 1n, 2n, 97n, 1000n]) {
        expect(allocate(a, w).reduce((x, y) => x + y, 0n)).toBe(a);
      }
    }
  });

  it("refuses what cannot be split", () => {
    expect(() => allocate(1n, [0n, 0n])).toThrow(RangeError);
    expect(() => allocate(-1n, [1n])).toThrow(RangeError);
    expect(allocate(0n, [0n])).toEqual([0n]);
  });
});

describe("cashRound", () => {
  it("rounds the cash due to the increment and returns the adjustment", () => {
    expect(cashRound(1396n, 5n, HALF_UP)).toBe(-1n);
    expect(cashRound(1397n, 5n, HALF_UP)).toBe(-2n);
    expect(cashRound(1398n, 5n, HALF_UP)).toBe(2n);
    expect(cashRound(1398n, 5n, DOWN)).toBe(-3n);
    expect(cashRound(1396n, 5n, UP)).toBe(4n);
    expect(cashRound(1395n, 5n, UP)).toBe(0n);
    expect(cashRound(-1396n, 5n, HALF_UP)).toBe(1n);
    // 0.025 to 0.05: half up away from zero, half even to 0.
    expect(cashRound(25n, 50n, HALF_UP)).toBe(25n);
    expect(cashRound(25n, 50n, HALF_EVEN)).toBe(-25n);
  });
});

describe("computeTotals", () => {
  it("rounds the cash part only, after the card part (mixed tenders)", () => {
    const t = computeTotals({
      lineItems: [{ quantityMilli: 1000n, unitPriceMinor: 1396n }],
      payments: [
        { tenderType: TenderType.CARD, amountMinor: 1000n },
        { tenderType: TenderType.CASH, amountMinor: 395n },
      ],
      cashRounding: { incrementMinor: 5n, rule: HALF_UP },
    });
    expect(t.roundingMinor).toBe(-1n);
    expect(t.totalMinor).toBe(1395n);
  });

  it("throws past int64", () => {
    const line = { quantityMilli: 1_000_000_000n, unitPriceMinor: 10_000_000_000_000n };
    expect(() => computeTotals({ lineItems: [line] })).toThrow(RangeError);
  });
});
