import type { ExportRow } from "./retail-export.js";

/**
 * What a load of a retail export must store, computed from the rows without the code under
 * test: no zone library (a two-row table of the 2011 UK changes), no decimal parser but a regex.
 */

/** One stored line item as the source writes it. */
export interface ExpectedLine {
  sku: string;
  /** Exactly the Description cell, surrounding spaces included. */
  name: string;
  /** Absolute quantity in thousandths (returns store positive magnitudes). */
  quantityMilli: bigint;
  /** Pounds to pence, exactly. */
  unitPriceMinor: bigint;
}

/** One stored sale: an invoice's rows grouped by InvoiceNo. */
export interface ExpectedInvoice {
  saleId: string;
  kind: "sale" | "return";
  /** The UTC instant of InvoiceDate read in Europe/London (a repeated time read as the earlier). */
  occurredAtSeconds: bigint;
  /** As written ("17850", "17850.0" or "" for none). */
  customerId: string;
  lines: ExpectedLine[];
  /** Sum of quantity x price, negative for a return. */
  totalMinor: bigint;
  /** 1-based source lines of the invoice's rows (the header is line 1). */
  sourceLines: number[];
}

// Europe/London in 2011: BST (UTC+1) from 27 Mar 01:00 UTC to 30 Oct 01:00 UTC, GMT otherwise.
const SPRING_2011 = Date.UTC(2011, 2, 27, 1) / 1000;
const AUTUMN_2011 = Date.UTC(2011, 9, 30, 1) / 1000;

/**
 * `M/d/yyyy H:mm` wall-clock time in London to UTC epoch seconds, for December 2010 to 2011 (the
 * export's span; the table knows no other changes). A time in the skipped hour throws; one in
 * the repeated hour (30 Oct 01:xx) is the earlier, BST, reading.
 */
export function londonToUtc(text: string): bigint {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`not M/d/yyyy H:mm: "${text}"`);
  const [, mo, d, y, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi) / 1000;
  if (wall < Date.UTC(2010, 10, 1) / 1000 || wall >= Date.UTC(2012, 0, 1) / 1000) {
    throw new Error(`"${text}" is outside the table's span (Nov 2010 to 2011)`);
  }
  // Wall clock 01:00-02:00 on 27 Mar does not exist; as GMT it would read as 01:xx UTC.
  if (wall >= SPRING_2011 && wall < SPRING_2011 + 3600) {
    throw new Error(`"${text}" is in the skipped hour`);
  }
  // BST wall clocks run from 02:00 (27 Mar) to 01:59 (30 Oct, first pass): earlier = BST.
  const bst = wall >= SPRING_2011 + 3600 && wall < AUTUMN_2011 + 3600;
  return BigInt(bst ? wall - 3600 : wall);
}

/** Decimal pounds with at most two decimals to pence. */
export function penceOf(price: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(price);
  if (!m) throw new Error(`not a GBP amount: "${price}"`);
  return BigInt(m[1] as string) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
}

function quantityOf(quantity: string): bigint {
  if (!/^-?\d+$/.test(quantity)) throw new Error(`not an integer quantity: "${quantity}"`);
  return BigInt(quantity);
}

/** The invoices of `rows` in order of first appearance, their rows in file order. */
export function expectedInvoices(rows: readonly ExportRow[]): ExpectedInvoice[] {
  const byId = new Map<string, ExpectedInvoice>();
  rows.forEach((row, index) => {
    let invoice = byId.get(row.invoiceNo);
    if (!invoice) {
      invoice = {
        saleId: row.invoiceNo,
        kind: row.invoiceNo.startsWith("C") ? "return" : "sale",
        occurredAtSeconds: londonToUtc(row.invoiceDate),
        customerId: row.customerId,
        lines: [],
        totalMinor: 0n,
        sourceLines: [],
      };
      byId.set(row.invoiceNo, invoice);
    }
    const q = quantityOf(row.quantity);
    const magnitude = q < 0n ? -q : q;
    const price = penceOf(row.unitPrice);
    invoice.lines.push({
      sku: row.stockCode,
      name: row.description,
      quantityMilli: magnitude * 1000n,
      unitPriceMinor: price,
    });
    invoice.totalMinor += (invoice.kind === "return" ? -1n : 1n) * magnitude * price;
    invoice.sourceLines.push(index + 2);
  });
  return [...byId.values()];
}

/** Consecutive runs of 1-based source lines, as `[first, last]` pairs ([[3, 5], [9, 9]]). */
export function lineRanges(lines: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const line of lines) {
    const last = ranges[ranges.length - 1];
    if (last && line === last[1] + 1) last[1] = line;
    else ranges.push([line, line]);
  }
  return ranges;
}
