import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  LineKind,
  RoundingRule,
  type Sale,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { readSales, type SaleLine } from "../../src/cli/sale-file.js";

// The CSV columns of the sale model v2 (issue 11): a return, a VAT receipt, charges, finer unit
// prices, tenders with change and tips, basket discounts, all from a spreadsheet.

async function read(csv: string): Promise<SaleLine[]> {
  const out: SaleLine[] = [];
  for await (const item of readSales(Readable.from([csv]), "csv")) out.push(item);
  return out;
}

async function one(csv: string): Promise<Sale> {
  const [item, ...rest] = await read(csv);
  expect(rest).toEqual([]);
  if (item?.kind !== "sale") throw new Error(`not a sale: ${JSON.stringify(item)}`);
  return item.sale;
}

const HEAD = "source,location_id,sale_id,occurred_at,currency";

describe("CSV, sale model v2", () => {
  it("reads a return from a spreadsheet: negative quantities and refund tenders", async () => {
    const sale = await one(
      [
        `${HEAD},kind,original_sale_id,sku,quantity,unit_price_minor,line_discount_minor,line_tax_minor,payments`,
        `pos,chicago-1,R-1001-RET,2026-12-01T15:00:00Z,USD,return,R-1001,MUG,-1,850,50,61,CARD:-786`,
      ].join("\n"),
    );
    expect(sale.kind).toBe(TransactionKind.RETURN);
    expect(sale.original?.saleId).toBe("R-1001");
    expect(sale.lineItems[0]).toMatchObject({
      kind: LineKind.RETURN,
      quantityMilli: 1000n,
      unitPriceMinor: 850n,
      discountMinor: 50n,
      taxMinor: 61n,
    });
    expect(sale.payments[0]).toMatchObject({ tenderType: TenderType.CARD, amountMinor: -786n });
  });

  it("refuses a negative quantity on a row that says it is a sale line", async () => {
    const [item] = await read(
      [
        `${HEAD},sku,quantity,unit_price_minor,line_kind,payments`,
        `pos,L,S1,2026-12-01T15:00:00Z,USD,MUG,-1,850,sale,CARD:850`,
      ].join("\n"),
    );
    expect(item).toMatchObject({
      kind: "error",
      line: 2,
      message: expect.stringMatching(/^quantity: negative/),
    });
  });

  it("reads a VAT receipt: taxes included, a voided line, the last four digits of a card", async () => {
    const sale = await one(
      [
        `${HEAD},sku,name,quantity,unit_price_minor,line_discount_minor,line_taxes,voided,payments`,
        `pos,berlin-1,B-1,2026-12-01T08:00:00+01:00,EUR,CROISSANT,Croissant,2,150,0,DE-VAT7:incl:7:20,,CARD:1541:brand=visa:last4=4242`,
        `pos,berlin-1,B-1,2026-12-01T08:00:00+01:00,EUR,CAPPU,Cappuccino,1,380,38,DE-VAT19:incl:19:55,false,CARD:1541:brand=visa:last4=4242`,
        `pos,berlin-1,B-1,2026-12-01T08:00:00+01:00,EUR,ESPRESSO,Espresso,1,250,0,DE-VAT19:incl:19:40,true,CARD:1541:brand=visa:last4=4242`,
      ].join("\n"),
    );
    expect(sale.lineItems.map((l) => l.voided)).toEqual([false, false, true]);
    expect(sale.lineItems[1]?.taxes).toEqual([
      expect.objectContaining({
        code: "DE-VAT19",
        ratePpm: 190_000n,
        amountMinor: 55n,
        mode: TaxMode.INCLUSIVE,
      }),
    ]);
    // Included taxes are not added on top: the line's tax_minor stays 0.
    expect(sale.lineItems[1]?.taxMinor).toBe(0n);
    expect(sale.payments[0]).toMatchObject({
      cardBrand: "visa",
      cardLast4: "4242",
      amountMinor: 1541n,
    });
  });

  it("reads added taxes with fractional rates, and a line_tax_minor that must agree with them", async () => {
    const head = `${HEAD},sku,quantity,unit_price_minor,line_taxes,line_tax_minor,payments`;
    const sale = await one(
      [
        head,
        `pos,L,S1,2026-12-01T15:00:00Z,USD,TEE,2,1200,US-IL-STATE:add:6.25:150;US-IL-CHI:add:2.25:54,,CARD:2604`,
      ].join("\n"),
    );
    expect(sale.lineItems[0]?.taxes.map((t) => t.ratePpm)).toEqual([62_500n, 22_500n]);
    expect(sale.lineItems[0]?.taxMinor).toBe(204n);
    const [bad] = await read(
      [
        head,
        `pos,L,S1,2026-12-01T15:00:00Z,USD,TEE,2,1200,US-IL-STATE:add:6.25:150,149,CARD:2549`,
      ].join("\n"),
    );
    expect(bad).toMatchObject({
      kind: "error",
      message: expect.stringMatching(/^line_tax_minor: 149/),
    });
  });

  it("reads a unit price in major units, finer than the minor unit where it needs to be", async () => {
    const head = `${HEAD},sku,quantity,unit_price,payments`;
    const fuel = await one(
      [head, `pos,L,F1,2026-12-01T15:00:00Z,EUR,DIESEL,40.125,1.799,CARD:7218`].join("\n"),
    );
    expect(fuel.lineItems[0]).toMatchObject({
      unitPriceMinor: 0n,
      unitPriceScaled: 1799n,
      unitPriceScale: 1,
    });
    const plain = await one(
      [head, `pos,L,F2,2026-12-01T15:00:00Z,EUR,MILK,1,1.79,CARD:179`].join("\n"),
    );
    expect(plain.lineItems[0]).toMatchObject({ unitPriceMinor: 179n, unitPriceScale: 0 });
    // The precision written is the precision stated: a pump's 1.790 stays in tenths of a cent.
    const pump = await one(
      [head, `pos,L,F4,2026-12-01T15:00:00Z,EUR,DIESEL,1,1.790,CARD:179`].join("\n"),
    );
    expect(pump.lineItems[0]).toMatchObject({ unitPriceScaled: 1790n, unitPriceScale: 1 });
    const yen = await one(
      [head, `pos,L,F3,2026-12-01T15:00:00Z,JPY,TEA,1,150,CARD:150`].join("\n"),
    );
    expect(yen.lineItems[0]).toMatchObject({ unitPriceMinor: 150n });
  });

  it("reads a charge row as a service charge, and cash tendered with change and rounding", async () => {
    const sale = await one(
      [
        `${HEAD},row_type,sku,name,quantity,unit_price_minor,cash_rounding,payments`,
        `pos,zurich-1,Z-1,2026-12-01T12:00:00+01:00,CHF,,SANDWICH,Sandwich,1,690,5:half_up,CASH:695:tendered=1000:change=305`,
        `pos,zurich-1,Z-1,2026-12-01T12:00:00+01:00,CHF,charge,BAG,Bag fee,1,5,5:half_up,CASH:695:tendered=1000:change=305`,
      ].join("\n"),
    );
    expect(sale.lineItems).toHaveLength(1);
    expect(sale.serviceCharges).toEqual([
      expect.objectContaining({ code: "BAG", name: "Bag fee", amountMinor: 5n, taxes: [] }),
    ]);
    expect(sale.cashRounding).toMatchObject({ incrementMinor: 5n, rule: RoundingRule.HALF_UP });
    expect(sale.payments[0]).toMatchObject({ tenderedMinor: 1000n, changeMinor: 305n });
  });

  it("allocates a basket discount no row names over the lines, exactly", async () => {
    const sale = await one(
      [
        `${HEAD},sku,quantity,unit_price_minor,line_discount_minor,basket_discounts,payments`,
        `pos,L,C1,2026-12-01T15:00:00Z,USD,TEE,2,1200,0,COUPON3:300,CARD:2850`,
        `pos,L,C1,2026-12-01T15:00:00Z,USD,MUG,1,850,50,COUPON3:300,CARD:2850`,
      ].join("\n"),
    );
    expect(sale.basketDiscounts).toEqual([
      expect.objectContaining({ code: "COUPON3", amountMinor: 300n }),
    ]);
    expect(sale.lineItems.map((l) => l.appliedDiscounts.map((d) => d.amountMinor))).toEqual([
      [225n],
      [75n],
    ]);
  });

  it("takes basket shares as stated, and refuses one for a discount the sale does not have", async () => {
    const head = `${HEAD},sku,quantity,unit_price_minor,basket_discounts,basket_shares,payments`;
    const sale = await one(
      [
        head,
        `pos,L,C2,2026-12-01T15:00:00Z,USD,TEE,2,1200,COUPON3:300,COUPON3:200,CARD:2750`,
        `pos,L,C2,2026-12-01T15:00:00Z,USD,MUG,1,850,COUPON3:300,COUPON3:100,CARD:2750`,
      ].join("\n"),
    );
    expect(sale.lineItems.map((l) => l.appliedDiscounts[0]?.amountMinor)).toEqual([200n, 100n]);
    const [bad] = await read(
      [head, `pos,L,C3,2026-12-01T15:00:00Z,USD,TEE,2,1200,COUPON3:300,STAFF:200,CARD:2750`].join(
        "\n",
      ),
    );
    expect(bad).toMatchObject({
      kind: "error",
      message: expect.stringContaining('"STAFF" is not in basket_discounts'),
    });
  });

  it("reads a post-void's reference, business day and cashier", async () => {
    const sale = await one(
      [
        `${HEAD},kind,original_sale_id,original_kind,business_day,cashier_id,sku,quantity,unit_price_minor,payments`,
        `pos,L,V1,2026-12-02T01:30:00+01:00,EUR,post_void,S-9,sale,2026-12-01,anna,MUG,1,850,CARD:850`,
      ].join("\n"),
    );
    expect(sale).toMatchObject({
      kind: TransactionKind.POST_VOID,
      original: { saleId: "S-9", kind: TransactionKind.SALE },
      businessDay: "2026-12-01",
      cashierId: "anna",
    });
  });

  it("stops at an unknown column, and at v2 totals without the v1 four", async () => {
    const [typo] = await read(`${HEAD},sku,quantity,unit_price_minor,payments,line_taxs\n`);
    expect(typo).toMatchObject({ kind: "fatal", message: expect.stringContaining("line_taxs") });
    const [partial] = await read(`${HEAD},sku,quantity,unit_price_minor,payments,tip_minor\n`);
    expect(partial).toMatchObject({ kind: "fatal", message: expect.stringContaining("tip_minor") });
  });
});

describe("CSV fidelity (issue 12)", () => {
  it("keeps text as it is in the file: a name's trailing space is part of the name", async () => {
    const sale = await one(
      [
        "source,location_id,sale_id,occurred_at,currency,sku,name,quantity,unit_price_minor,payments",
        "pos,L,F1,2026-11-27T10:00:00Z,GBP,85123A,WHITE HANGING HEART T-LIGHT HOLDER ,1,255,CARD:255",
        'pos,L,F1,2026-11-27T10:00:00Z,GBP, 22752 ,"  SET 7 BABUSHKA NESTING BOXES",1,765,CARD:255',
      ].join("\n"),
    ).catch(() => undefined);
    // Totals are computed; the second row's payment is the first row's (transaction level).
    expect(sale?.lineItems.map((l) => [l.sku, l.name])).toEqual([
      ["85123A", "WHITE HANGING HEART T-LIGHT HOLDER "],
      [" 22752 ", "  SET 7 BABUSHKA NESTING BOXES"],
    ]);
  });

  it("still reads numbers and names of columns padded with spaces", async () => {
    const sale = await one(
      [
        "source, location_id, sale_id, occurred_at, currency, sku, quantity, unit_price_minor, payments",
        "pos,L,F2, 2026-11-27T10:00:00Z ,EUR,MILK, 2 , 129 , CARD:258 ",
      ].join("\n"),
    );
    expect(sale.lineItems[0]).toMatchObject({ quantityMilli: 2000n, unitPriceMinor: 129n });
    expect(sale.payments[0]?.amountMinor).toBe(258n);
  });
});
