import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { EXPORT_HEADER, type ExportRow, retailExport, toCsv } from "../support/retail-export.js";
import { BAD_CELLS, badRetailExport, FAR_SPLIT_INVOICES } from "../support/retail-export-bad.js";
import {
  expectedInvoices,
  lineRanges,
  londonToUtc,
  penceOf,
} from "../support/retail-export-expected.js";

const rows = retailExport({ seed: 7, invoices: 150 });
const invoices = expectedInvoices(rows);

/** Parses a CSV text back into rows, keeping every cell as written. */
function parseCsv(text: string, delimiter: string): ExportRow[] {
  const records = parse(text, { delimiter, bom: true, relax_quotes: false }) as string[][];
  expect(records[0]).toEqual([...EXPORT_HEADER]);
  return records.slice(1).map((c) => ({
    invoiceNo: c[0] ?? "",
    stockCode: c[1] ?? "",
    description: c[2] ?? "",
    quantity: c[3] ?? "",
    invoiceDate: c[4] ?? "",
    unitPrice: c[5] ?? "",
    customerId: c[6] ?? "",
    country: c[7] ?? "",
  }));
}

/** Wall clock and zone abbreviation of an instant in London, by Intl (not by the table). */
function londonWallClock(seconds: bigint): string {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(Number(seconds) * 1000);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${Number(p.month)}/${Number(p.day)}/${p.year} ${Number(p.hour)}:${p.minute} ${p.timeZoneName}`;
}

describe("retailExport", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    expect(retailExport({ seed: 7, invoices: 150 })).toEqual(rows);
    expect(retailExport({ seed: 8, invoices: 150 })).not.toEqual(rows);
    expect(invoices).toHaveLength(150);
  });

  it("has times across both 2011 DST changes, none in the skipped hour", () => {
    const dates = new Set(rows.map((r) => r.invoiceDate));
    for (const t of ["3/27/2011 0:45", "3/27/2011 2:10", "10/30/2011 1:05", "10/30/2011 1:40"]) {
      expect(dates).toContain(t);
    }
    expect([...dates].filter((d) => /^3\/27\/2011 1:/.test(d))).toEqual([]);
    expect(() => londonToUtc("3/27/2011 1:30")).toThrow(/skipped/);
  });

  it("reads each time as Intl does in Europe/London, the repeated hour as BST", () => {
    for (const invoice of invoices) {
      const written = rows.find((r) => r.invoiceNo === invoice.saleId)?.invoiceDate;
      expect(londonWallClock(invoice.occurredAtSeconds)).toMatch(
        new RegExp(`^${written} (GMT|BST)$`),
      );
    }
    // Literals from `date -u -d`: 12/1/2010 8:26 GMT; 10/30/2011 1:05 BST (00:05 UTC), 2:00 GMT.
    expect(londonToUtc("12/1/2010 8:26")).toBe(1291191960n);
    expect(londonToUtc("10/30/2011 1:05")).toBe(1319933100n);
    expect(londonToUtc("10/30/2011 2:00")).toBe(1319940000n);
    expect(londonToUtc("3/27/2011 2:10")).toBe(1301188200n);
    expect(londonWallClock(1319933100n)).toBe("10/30/2011 1:05 BST");
  });

  it("writes C-prefixed returns with every quantity negative, sales with positive ones", () => {
    const returns = invoices.filter((i) => i.kind === "return");
    expect(returns.length).toBeGreaterThanOrEqual(10);
    for (const r of rows) {
      expect(Number(r.quantity) < 0, r.invoiceNo).toBe(r.invoiceNo.startsWith("C"));
    }
    for (const r of returns) expect(r.totalMinor).toBeLessThan(0n);
  });

  it("splits some invoices: their rows are not consecutive, the gap under 200 rows", () => {
    const split = invoices.filter((i) => lineRanges(i.sourceLines).length > 1);
    expect(split.length).toBeGreaterThanOrEqual(5);
    for (const i of split) {
      const ranges = lineRanges(i.sourceLines);
      expect(ranges).toHaveLength(2);
      const gap = (ranges[1]?.[0] ?? 0) - (ranges[0]?.[1] ?? 0);
      expect(gap).toBeLessThan(50);
    }
  });

  it("has the text quirks: surrounding spaces, comma, quote, `;`, non-ASCII; ids as written", () => {
    const names = new Set(rows.map((r) => r.description));
    const some = (test: (n: string) => boolean) => [...names].some(test);
    expect(some((n) => n.endsWith(" "))).toBe(true);
    expect(some((n) => n.startsWith(" "))).toBe(true);
    expect(some((n) => n.includes(","))).toBe(true);
    expect(some((n) => n.includes('"'))).toBe(true);
    expect(some((n) => n.includes(";"))).toBe(true);
    expect(some((n) => /[^\x20-\x7e]/.test(n))).toBe(true);
    const codes = new Set(rows.map((r) => r.stockCode));
    for (const c of ["85123A", "POST", "22423"]) expect(codes).toContain(c);
    const customers = invoices.map((i) => i.customerId);
    expect(customers).toContain("");
    expect(customers.some((c) => /^\d{5}\.0$/.test(c))).toBe(true);
    expect(customers.some((c) => /^\d{5}$/.test(c))).toBe(true);
    const prices = new Set(rows.map((r) => r.unitPrice));
    expect(prices).toContain("2.1");
    expect(prices).toContain("3");
    expect([...prices].every((p) => /^\d+(\.\d{1,2})?$/.test(p))).toBe(true);
    expect(penceOf("2.1")).toBe(210n);
    expect(penceOf("3")).toBe(300n);
    expect(penceOf("12.75")).toBe(1275n);
  });
});

describe("toCsv", () => {
  it("quotes as RFC 4180: a CSV reader gets every cell back as written", () => {
    const text = toCsv(rows, { delimiter: ",", decimalComma: false });
    expect(text.startsWith("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,")).toBe(true);
    expect(text).toContain(',"WRAP, ""ENGLISH ROSE""",');
    expect(text).toContain(',"WOODEN RULER 12"" ",');
    expect(text).toContain(",JUMBO BAG; RED RETROSPOT,");
    expect(parseCsv(text, ",")).toEqual(rows);
  });

  it("writes the semicolon variant with decimal commas, CRLF and a BOM; nothing else changes", () => {
    const text = toCsv(rows, { delimiter: ";", decimalComma: true, crlf: true, bom: true });
    expect(text.startsWith("\uFEFFInvoiceNo;StockCode;")).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text).toContain(';"JUMBO BAG; RED RETROSPOT";');
    expect(text).toMatch(/;2,55;/);
    const back = parseCsv(text, ";");
    expect(back).toEqual(rows.map((r) => ({ ...r, unitPrice: r.unitPrice.replace(".", ",") })));
  });

  it("matches the README sample (seed 1, 8 invoices)", () => {
    const sample = retailExport({ seed: 1, invoices: 8 });
    const file = readFileSync("examples/exports/online-retail-sample.csv", "utf8");
    expect(file).toBe(toCsv(sample, { delimiter: ",", decimalComma: false }));
    const sampleInvoices = expectedInvoices(sample);
    expect(sampleInvoices.some((i) => i.kind === "return")).toBe(true);
    expect(sampleInvoices.some((i) => lineRanges(i.sourceLines).length > 1)).toBe(true);
  });
});

describe("badRetailExport", () => {
  it("breaks four ordinary invoices as documented; the rest stays readable", () => {
    const { rows: bad, broken } = badRetailExport({ seed: 7, invoices: 150 });
    expect(bad).toHaveLength(rows.length);
    const rowsOf = (id: string) => bad.filter((r) => r.invoiceNo === id);
    expect(rowsOf(broken.skippedTime).every((r) => r.invoiceDate === "3/27/2011 1:30")).toBe(true);
    expect(rowsOf(broken.price)[1]?.unitPrice).toBe(BAD_CELLS.price.bad);
    expect(rowsOf(broken.quantity)[1]?.quantity).toBe(BAD_CELLS.quantity.bad);
    const lines = bad.flatMap((r, i) => (r.invoiceNo === broken.farSplit ? [i + 2] : []));
    const ranges = lineRanges(lines);
    expect(ranges).toHaveLength(2);
    const gap = (ranges[1]?.[0] ?? 0) - (ranges[0]?.[1] ?? 0);
    expect(gap).toBeGreaterThan(50);
    const between = new Set(
      bad.slice((ranges[0]?.[1] ?? 0) - 1, (ranges[1]?.[0] ?? 0) - 2).map((r) => r.invoiceNo),
    );
    expect(between.size).toBeGreaterThanOrEqual(FAR_SPLIT_INVOICES);
    const fine = new Set([broken.skippedTime, broken.price, broken.quantity, broken.farSplit]);
    expect(fine.size).toBe(4);
    expect(expectedInvoices(bad.filter((r) => !fine.has(r.invoiceNo)))).toHaveLength(146);
  });
});
