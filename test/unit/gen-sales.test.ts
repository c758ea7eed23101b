import { Readable } from "node:stream";
import { create, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  LineKind,
  type Sale,
  SaleSchema,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { CSV_HEADER_LINE, csvRows, generateSales } from "../../src/cli/gen-sales.js";
import { readSales } from "../../src/cli/sale-file.js";
import { checkSale } from "../../src/contract/index.js";

// gen-sales makes the mix of transactions a retail chain's POS emits (issue 11), every one valid
// by the server's rules, the same for the same seed, and the same when read back from its CSV.

const END = new Date("2026-12-01T12:00:00Z");
const LIMITS = { maxLineItems: 5000, maxFutureSkewSeconds: 300 };
const sales = [...generateSales(20_000, 11, END)];

describe("gen-sales", () => {
  it("makes the issue's mix: returns, exchanges, voids, six tax regimes, cash, tips, rounding", () => {
    const share = (p: (s: Sale) => boolean) => sales.filter(p).length / sales.length;
    expect(share((s) => s.kind === TransactionKind.SALE)).toBeGreaterThan(0.9);
    expect(share((s) => s.kind === TransactionKind.RETURN)).toBeGreaterThan(0.02);
    expect(
      share((s) => s.kind === TransactionKind.RETURN && s.original !== undefined),
    ).toBeGreaterThan(0.01);
    expect(
      share((s) => s.kind === TransactionKind.RETURN && s.original === undefined),
    ).toBeGreaterThan(0.005);
    expect(share((s) => s.kind === TransactionKind.EXCHANGE)).toBeGreaterThan(0.005);
    expect(share((s) => s.kind === TransactionKind.POST_VOID)).toBeGreaterThan(0.001);
    expect(share((s) => s.lineItems.some((l) => l.voided))).toBeGreaterThan(0.01);
    expect(new Set(sales.map((s) => s.currency))).toEqual(
      new Set(["EUR", "GBP", "USD", "CHF", "JPY", "KWD"]),
    );
    const pays = sales.flatMap((s) => s.payments);
    expect(pays.some((p) => p.tenderType === TenderType.CASH && p.changeMinor > 0n)).toBe(true);
    expect(pays.some((p) => p.tipMinor > 0n)).toBe(true);
    expect(sales.some((s) => s.currency === "CHF" && (s.totals?.roundingMinor ?? 0n) !== 0n)).toBe(
      true,
    );
    expect(sales.some((s) => s.lineItems.some((l) => l.taxes.length === 2))).toBe(true);
    expect(sales.some((s) => s.lineItems.some((l) => l.unitPriceScale > 0))).toBe(true);
    expect(sales.some((s) => s.basketDiscounts.length > 0)).toBe(true);
    expect(sales.some((s) => s.serviceCharges.length > 0)).toBe(true);
    expect(Math.max(...sales.map((s) => s.lineItems.length))).toBeGreaterThanOrEqual(1000);
  });

  it("makes only transactions the server takes, returns and voids naming an earlier sale", () => {
    const ids = new Set<string>();
    for (const s of sales) {
      expect(checkSale(s, LIMITS, END.getTime())).toEqual([]);
      if (s.original) expect(ids.has(s.original.saleId)).toBe(true);
      ids.add(s.saleId);
    }
    const returned = sales.flatMap((s) =>
      s.kind === TransactionKind.RETURN ? s.lineItems.map((l) => l.kind) : [],
    );
    expect(new Set(returned)).toEqual(new Set([LineKind.RETURN]));
  });

  it("makes the same transactions for the same seed, and others for another", () => {
    const again = [...generateSales(500, 11, END)].map((s) => toJsonString(SaleSchema, s));
    expect(again).toEqual(sales.slice(0, 500).map((s) => toJsonString(SaleSchema, s)));
    const other = [...generateSales(50, 12, END)].map((s) => s.saleId);
    expect(other.some((id) => sales.some((s) => s.saleId === id))).toBe(false);
  });

  it("writes CSV that reads back as the same transactions (but for tax and discount names)", async () => {
    const sample = sales.slice(0, 3_000);
    const csv = `${CSV_HEADER_LINE}\n${sample.map((s) => csvRows(s).join("\n")).join("\n")}\n`;
    const read: Sale[] = [];
    for await (const item of readSales(Readable.from([csv]), "csv")) {
      if (item.kind !== "sale") throw new Error(JSON.stringify(item));
      read.push(item.sale);
    }
    const json = (s: Sale) => toJsonString(SaleSchema, withoutNames(s));
    expect(read.map(json)).toEqual(sample.map(json));
  });
});

/** What CSV does not carry: tax and basket discount names (codes are kept). */
function withoutNames(s: Sale): Sale {
  const copy = create(SaleSchema, s);
  for (const l of copy.lineItems) for (const t of l.taxes) t.name = "";
  for (const c of copy.serviceCharges) for (const t of c.taxes) t.name = "";
  for (const d of copy.basketDiscounts) d.name = d.code;
  return copy;
}
