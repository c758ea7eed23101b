import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { readSales } from "../../src/cli/sale-file.js";
import { checkSale } from "../../src/contract/check-sale.js";

// The CSV reader computes what a file leaves out (totals, basket shares) with the rules module,
// so a v2 transaction from a spreadsheet passes the server's checks as it stands.

const LIMITS = { maxLineItems: 500, maxFutureSkewSeconds: 300 };
const NOW_MS = Date.parse("2026-12-01T18:00:00Z");
const HEAD = "source,location_id,register_id,sale_id,occurred_at,currency";

async function one(csv: string): Promise<Sale> {
  for await (const item of readSales(Readable.from([csv]), "csv")) {
    if (item.kind !== "sale") throw new Error(`not a sale: ${JSON.stringify(item)}`);
    return item.sale;
  }
  throw new Error("no sale");
}

describe("CSV transactions without total columns", () => {
  it("a return gets signed totals the server accepts", async () => {
    const sale = await one(
      [
        `${HEAD},kind,sku,quantity,unit_price_minor,line_discount_minor,line_tax_minor,payments`,
        "pos,chicago-1,t1,R-1001-RET,2026-12-01T15:00:00Z,USD,return,MUG,-1,850,50,61,CARD:-861",
      ].join("\n"),
    );
    expect(sale.totals).toMatchObject({
      subtotalMinor: -850n,
      discountMinor: -50n,
      taxMinor: -61n,
      totalMinor: -861n,
    });
    expect(checkSale(sale, LIMITS, NOW_MS)).toEqual([]);
  });

  it("a VAT receipt with included taxes adds up", async () => {
    const sale = await one(
      [
        `${HEAD},sku,quantity,unit_price_minor,line_taxes,payments`,
        "pos,berlin-1,t1,B-1,2026-12-01T10:15:00Z,EUR,CRO,2,150,DE-VAT7:incl:7:20,CARD:1199",
        "pos,berlin-1,t1,B-1,2026-12-01T10:15:00Z,EUR,OIL,1,899,DE-VAT19:incl:19:144,CARD:1199",
      ].join("\n"),
    );
    expect(sale.totals).toMatchObject({
      subtotalMinor: 1199n,
      includedTaxMinor: 164n,
      totalMinor: 1199n,
    });
    expect(checkSale(sale, LIMITS, NOW_MS)).toEqual([]);
  });
});
