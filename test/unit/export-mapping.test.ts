import { Readable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  LineKind,
  SaleSchema,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  type MappingFlags,
  type MappingInput,
  resolveMapping,
} from "../../src/cli/export/mapping-file.js";
import { readSales, type SaleLine } from "../../src/cli/sale-file.js";

// Expected instants are literals (`date -u -d '2010-12-01 08:26' +%s`), not recomputed by the code.

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function read(csv: string, mapping: MappingInput, flags: MappingFlags = {}): Promise<SaleLine[]> {
  const resolved = resolveMapping(mapping, flags, "retail.yaml");
  return collect(readSales(Readable.from([csv]), "csv", { mapping: resolved }));
}

function sales(lines: SaleLine[]) {
  return lines.map((l) => {
    if (l.kind !== "sale") throw new Error(`expected a sale, got ${JSON.stringify(l.message)}`);
    return l.sale;
  });
}

function violations(lines: SaleLine[]) {
  return lines.flatMap((l) => (l.kind === "error" ? l.rejection.violations : []));
}

/** The retailer's shape: local times, prices in pounds, no tenders, no store column. */
const RETAIL: MappingInput = {
  columns: {
    sale_id: "InvoiceNo",
    sku: "StockCode",
    name: "Description",
    quantity: "Quantity",
    occurred_at: "InvoiceDate",
    unit_price: "UnitPrice",
    customer_id: "CustomerID",
    location_id: "Country",
  },
  values: { source: "erp", currency: "GBP" },
  time: { zone: "Europe/London", format: "M/d/yyyy H:mm" },
  rules: [{ when: { column: "InvoiceNo", startsWith: "C" }, set: { kind: "return" } }],
  tender: { type: "CASH" },
};
const HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

describe("a mapped CSV export", () => {
  it("reads into exactly the expected sales: names as written, local times, pounds, a C return", async () => {
    const csv = `${HEADER}\n536365,85123A,WHITE HANGING HEART ,6,12/1/2010 8:26,2.55,17850,United Kingdom\n536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\nC536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom\n`;
    const [sale, refund] = sales(await read(csv, RETAIL));
    const common = { source: "erp", currency: "GBP", locationId: "United Kingdom" };
    expect(sale).toEqual(
      create(SaleSchema, {
        ...common,
        saleId: "536365",
        occurredAt: { seconds: 1291191960n },
        lineItems: [
          {
            sku: "85123A",
            name: "WHITE HANGING HEART ",
            quantityMilli: 6000n,
            unitPriceMinor: 255n,
          },
          { sku: "71053", name: "WHITE METAL LANTERN", quantityMilli: 6000n, unitPriceMinor: 339n },
        ],
        payments: [{ tenderType: TenderType.CASH, amountMinor: 3564n }],
        totals: { subtotalMinor: 3564n, totalMinor: 3564n },
        customer: { customerId: "17850" },
      }),
    );
    expect(refund).toEqual(
      create(SaleSchema, {
        ...common,
        saleId: "C536379",
        kind: TransactionKind.RETURN,
        occurredAt: { seconds: 1291196460n },
        lineItems: [
          {
            sku: "D",
            name: "Discount",
            quantityMilli: 1000n,
            unitPriceMinor: 2750n,
            kind: LineKind.RETURN,
          },
        ],
        // A return pays the money back: the one tender is of the (negative) total.
        payments: [{ tenderType: TenderType.CASH, amountMinor: -2750n }],
        totals: { subtotalMinor: -2750n, totalMinor: -2750n },
        customer: { customerId: "14527" },
      }),
    );
  });

  it("fills fields from templates, value tables, rules by field, fixed values and same-named columns", async () => {
    const csv =
      "Store,Till,No,Type,register_id,Code,Qty,Price,When\nS1,T2,7,R,R9,A,1,1.00,2024-05-01T10:00:00Z\nS1,T2,8,X,R9,B,1,2.00,2024-05-01T10:00:00Z\nS1,T2,9,Q,R9,C,1,3.00,2024-05-01T10:00:00Z\n";
    const mapping: MappingInput = {
      columns: {
        sale_id: "{Till}-{No}",
        location_id: "Store",
        kind: { from: "Type", map: { R: "return", S: "sale" }, default: "sale" },
        // Without a default a value the table lacks is kept (and "X" is then no kind).
        name: { from: "Type", map: { R: "refund" } },
        sku: "Code",
        quantity: "Qty",
        unit_price: "Price",
        occurred_at: "When",
      },
      values: { source: "pos", currency: "EUR", payments: "CASH:100" },
      rules: [{ when: { field: "name", equals: "Q" }, set: { name: "queried", kind: "exchange" } }],
    };
    const out = await read(csv, mapping);
    const [first, third] = sales([out[0], out[2]] as SaleLine[]);
    expect(first).toMatchObject({
      saleId: "T2-7",
      locationId: "S1",
      registerId: "R9",
      source: "pos",
      currency: "EUR",
      kind: TransactionKind.RETURN,
      lineItems: [{ sku: "A", name: "refund", unitPriceMinor: 100n }],
      payments: [{ tenderType: TenderType.CASH, amountMinor: 100n }],
    });
    expect(out[1]).toMatchObject({
      kind: "sale",
      sale: { saleId: "T2-8", kind: TransactionKind.SALE },
    });
    expect((out[1] as { sale: { lineItems: { name: string }[] } }).sale.lineItems[0]?.name).toBe(
      "X",
    );
    expect(third).toMatchObject({
      kind: TransactionKind.EXCHANGE,
      lineItems: [{ name: "queried" }],
    });
  });

  it("refuses the whole transaction when one of its rows cannot be mapped, listing that row", async () => {
    // Row 3's time cannot be converted, row 5's quantity not read: neither invoice is sent short.
    const csv = `${HEADER}\n1,A,X,1,12/1/2010 8:26,1.5,7,UK\n1,B,Y,1,13/45/2010 8:26,2.5,7,UK\n2,A,X,1,12/1/2010 8:27,1.5,7,UK\n2,B,Y,x,12/1/2010 8:27,2.5,7,UK\n3,A,X,1,12/1/2010 8:28,1.5,7,UK\n`;
    const lines = await read(csv, RETAIL);
    expect(lines.map((l) => [l.kind, l.line])).toEqual([
      ["error", 2],
      ["error", 4],
      ["sale", 6],
    ]);
    expect(lines[0]).toMatchObject({
      rejection: {
        reason: "unreadable",
        saleId: "1",
        lines: [[2, 3]],
        violations: [{ field: "occurred_at", column: "InvoiceDate", line: 3 }],
      },
    });
    expect(lines[1]).toMatchObject({
      rejection: {
        saleId: "2",
        lines: [[4, 5]],
        violations: [{ field: "quantity", column: "Quantity", line: 5 }],
      },
    });
  });

  it.each([
    [{ equals: "C1" }, ["C1"]],
    [{ in: ["C1", "9"] }, ["C1", "9"]],
    [{ startsWith: "C" }, ["C1", "C22"]],
    [{ endsWith: "2" }, ["C22"]],
    [{ matches: "^\\d+$" }, ["9"]],
    [{ empty: true }, []],
    [{ empty: false }, ["C1", "C22", "9"]],
  ])("applies a rule testing the column with %j", async (test, returns) => {
    const csv = `${HEADER}\nC1,A,X,1,12/1/2010 8:26,1,7,UK\nC22,A,X,1,12/1/2010 8:26,1,7,UK\n9,A,X,1,12/1/2010 8:26,1,7,UK\n`;
    const mapping = {
      ...RETAIL,
      rules: [{ when: { column: "InvoiceNo", ...test }, set: { kind: "return" } }],
    };
    const got = sales(await read(csv, mapping));
    expect(got.filter((s) => s.kind === TransactionKind.RETURN).map((s) => s.saleId)).toEqual(
      returns,
    );
  });

  it("stops at a column nobody reads, naming it, unless it is ignored", async () => {
    const csv = `${HEADER},Notes\n536365,85123A,X,1,12/1/2010 8:26,2.55,17850,United Kingdom,hi\n`;
    const [fatal] = await read(csv, RETAIL);
    expect(fatal).toMatchObject({
      kind: "fatal",
      line: 1,
      message: expect.stringContaining('"Notes"'),
    });
    expect(sales(await read(csv, { ...RETAIL, ignore: ["Notes"] }))).toHaveLength(1);
  });

  it("stops at a column the export has twice, whose second copy nobody would read", async () => {
    const csv = `${HEADER},Quantity\n536365,85123A,X,1,12/1/2010 8:26,2.55,17850,UK,5\n`;
    const [fatal] = await read(csv, RETAIL);
    expect(fatal).toMatchObject({
      kind: "fatal",
      line: 1,
      message: expect.stringContaining('"Quantity" more than once'),
    });
    // Two copies of a column nobody needs are fine when ignored.
    const notes = `${HEADER},Notes,Notes\n536365,85123A,X,1,12/1/2010 8:26,2.55,17850,UK,a,b\n`;
    expect(sales(await read(notes, { ...RETAIL, ignore: ["Notes"] }))).toHaveLength(1);
  });

  it("stops when a mapped column is missing, naming the mapping's path and the column", async () => {
    const csv = "InvoiceNo,Code\n1,A\n";
    const [fatal] = await read(csv, RETAIL);
    expect(fatal).toMatchObject({
      kind: "fatal",
      message: expect.stringMatching(/columns\.\w+: the export has no column "\w+"/),
    });
  });

  const AMOUNTS = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,Country,Sub,Disc,Tax,Total";
  const { name: _name, customer_id: _customer, ...retailColumns } = RETAIL.columns ?? {};
  const amounts: MappingInput = {
    ...RETAIL,
    columns: {
      ...retailColumns,
      subtotal: "Sub",
      discount: "Disc",
      tax: "Tax",
      total: "Total",
    },
  };

  it("converts major-unit totals exactly, negative ones too", async () => {
    const csv = `${AMOUNTS}\n1,A,1,12/1/2010 8:26,12.5,UK,12.5,0,0.00,12.5\nC2,A,-1,12/1/2010 8:26,3.7,UK,-3.7,0,0,-3.70\n`;
    const [sale, refund] = sales(await read(csv, amounts));
    expect(sale?.totals).toMatchObject({ subtotalMinor: 1250n, taxMinor: 0n, totalMinor: 1250n });
    expect(sale?.payments).toMatchObject([{ amountMinor: 1250n }]);
    expect(refund?.totals).toMatchObject({ subtotalMinor: -370n, totalMinor: -370n });
  });

  it("refuses more decimals than the currency has and an unknown currency, naming field and column", async () => {
    const csv = `${AMOUNTS}\n1,A,1,12/1/2010 8:26,12.5,UK,12.5,0,0,12.505\n`;
    expect(violations(await read(csv, amounts))).toMatchObject([
      {
        field: "total",
        column: "Total",
        line: 2,
        description: expect.stringMatching(/12\.505.*decimals/),
      },
    ]);
    const other = { ...amounts, values: { source: "erp", currency: "ZZZ" } };
    expect(violations(await read(csv.replace("12.505", "12.5"), other))).toMatchObject([
      { field: "subtotal", description: 'unknown currency "ZZZ"' },
    ]);
  });

  it("reads a ;-delimited export with decimal commas and . thousands", async () => {
    const csv = `${HEADER.replaceAll(",", ";")}\n1;A;X;2;12/1/2010 8:26;1.234,5;7;UK\n`;
    const [sale] = sales(await read(csv, { ...RETAIL, numbers: { decimal: ",", thousands: "." } }));
    expect(sale).toMatchObject({
      lineItems: [{ quantityMilli: 2000n, unitPriceMinor: 123450n }],
      totals: { totalMinor: 246900n },
      payments: [{ amountMinor: 246900n }],
    });
    // The same with the flags instead of the file's numbers section.
    const flagged = sales(
      await read(csv.replace("1.234,5", "1234,5"), RETAIL, { decimalComma: true }),
    );
    expect(flagged[0]?.lineItems[0]?.unitPriceMinor).toBe(123450n);
  });

  it("makes no payment for a transaction whose total is 0", async () => {
    const csv = `${HEADER}\n1,A,free,1,12/1/2010 8:26,0,7,UK\n`;
    const [sale] = sales(await read(csv, RETAIL));
    expect(sale?.totals?.totalMinor).toBe(0n);
    expect(sale?.payments).toEqual([]);
  });
});
