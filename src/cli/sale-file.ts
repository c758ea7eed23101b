import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { parse } from "csv-parse";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";

/** The file formats `pos-ingest send` reads. */
export type SaleFormat = "ndjson" | "csv";

/** One sale read from a file, or why the lines at `line` could not be read as one. */
export type SaleLine =
  | { readonly kind: "sale"; readonly sale: Sale; readonly line: number }
  | { readonly kind: "error"; readonly line: number; readonly message: string };

/** The format a file name implies: `.csv` is CSV, anything else NDJSON. */
export function formatOf(path: string): SaleFormat {
  return path.toLowerCase().endsWith(".csv") ? "csv" : "ndjson";
}

/** Reads sales from `input`, one at a time, with the (1-based) line each starts on. */
export function readSales(input: Readable, format: SaleFormat): AsyncGenerator<SaleLine> {
  return format === "csv" ? readCsv(input) : readNdjson(input);
}

/**
 * NDJSON: one sale per line in the protobuf JSON mapping (`saleId` or `sale_id`, int64 as a
 * number or a string, timestamps in RFC 3339, enums by name). Blank lines are skipped.
 */
async function* readNdjson(input: Readable): AsyncGenerator<SaleLine> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      yield { kind: "error", line, message: `not JSON: ${messageOf(err)}` };
      continue;
    }
    try {
      yield { kind: "sale", sale: fromJson(SaleSchema, json as JsonValue), line };
    } catch (err) {
      yield { kind: "error", line, message: messageOf(err) };
    }
  }
}

/** CSV columns; see the README ("Loading a backlog") for their meaning. */
const REQUIRED_COLUMNS = [
  "source",
  "location_id",
  "sale_id",
  "occurred_at",
  "currency",
  "sku",
  "quantity",
  "unit_price_minor",
  "payments",
] as const;
const TOTAL_COLUMNS = ["subtotal_minor", "discount_minor", "tax_minor", "total_minor"] as const;

type Row = Record<string, string>;

/**
 * CSV with a header row, one row per line item, as POS exports write it: the rows of a sale are
 * consecutive and repeat its sale-level columns (the first row's are used). A sale with any bad
 * row is reported once, at that row's line, and not sent.
 */
async function* readCsv(input: Readable): AsyncGenerator<SaleLine> {
  const parser = input.pipe(
    parse({ columns: true, bom: true, trim: true, skip_empty_lines: true, info: true }),
  );
  let group: { key: string; line: number; rows: Row[]; error?: SaleLine } | undefined;
  let checked = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Row;
      info: { lines: number };
    }>) {
      if (!checked) {
        const missing = REQUIRED_COLUMNS.filter((c) => !(c in record));
        if (missing.length > 0) {
          yield { kind: "error", line: 1, message: `header lacks column(s) ${missing.join(", ")}` };
          return;
        }
        checked = true;
      }
      const key = [record.source, record.location_id, record.sale_id].join("\u0000");
      if (group && group.key !== key) {
        yield group.error ?? toSaleLine(group.rows, group.line);
        group = undefined;
      }
      group ??= { key, line: info.lines, rows: [] };
      group.rows.push(record);
    }
  } catch (err) {
    // A CSV syntax error (unbalanced quote, wrong column count) ends the file: what follows
    // cannot be split into rows reliably.
    if (group) yield toSaleLine(group.rows, group.line);
    const line = (err as { lines?: number }).lines ?? 0;
    yield { kind: "error", line, message: `unreadable CSV: ${messageOf(err)}` };
    return;
  }
  if (group) yield toSaleLine(group.rows, group.line);
}

function toSaleLine(rows: Row[], line: number): SaleLine {
  try {
    return { kind: "sale", sale: saleFromRows(rows), line };
  } catch (err) {
    return { kind: "error", line, message: messageOf(err) };
  }
}

function saleFromRows(rows: Row[]): Sale {
  const first = rows[0] as Row;
  const lineItems = rows.map((r) => ({
    sku: r.sku ?? "",
    name: r.name ?? "",
    quantityMilli: milli(r.quantity ?? "", "quantity"),
    unitPriceMinor: integer(r.unit_price_minor ?? "", "unit_price_minor"),
    discountMinor: integer(r.line_discount_minor || "0", "line_discount_minor"),
    taxMinor: integer(r.line_tax_minor || "0", "line_tax_minor"),
  }));
  const init: MessageInitShape<typeof SaleSchema> = {
    source: first.source ?? "",
    locationId: first.location_id ?? "",
    registerId: first.register_id ?? "",
    saleId: first.sale_id ?? "",
    occurredAt: timestampFromDate(timestamp(first.occurred_at ?? "")),
    currency: first.currency ?? "",
    lineItems,
    payments: payments(first.payments ?? ""),
    totals: TOTAL_COLUMNS.some((c) => c in first)
      ? {
          subtotalMinor: integer(first.subtotal_minor ?? "", "subtotal_minor"),
          discountMinor: integer(first.discount_minor ?? "", "discount_minor"),
          taxMinor: integer(first.tax_minor ?? "", "tax_minor"),
          totalMinor: integer(first.total_minor ?? "", "total_minor"),
        }
      : computedTotals(lineItems),
  };
  if (first.customer_id || first.customer_email || first.customer_name || first.customer_phone) {
    init.customer = {
      customerId: first.customer_id ?? "",
      name: first.customer_name ?? "",
      email: first.customer_email ?? "",
      phone: first.customer_phone ?? "",
    };
  }
  return create(SaleSchema, init);
}

/** Totals by the server's own formula, for files that carry only line items. */
function computedTotals(
  lines: {
    quantityMilli: bigint;
    unitPriceMinor: bigint;
    discountMinor: bigint;
    taxMinor: bigint;
  }[],
) {
  let subtotalMinor = 0n;
  let discountMinor = 0n;
  let taxMinor = 0n;
  for (const l of lines) {
    // The server's formula (quantities and prices are never negative, or the sale is refused).
    subtotalMinor += (l.unitPriceMinor * l.quantityMilli + 500n) / 1000n;
    discountMinor += l.discountMinor;
    taxMinor += l.taxMinor;
  }
  return {
    subtotalMinor,
    discountMinor,
    taxMinor,
    totalMinor: subtotalMinor - discountMinor + taxMinor,
  };
}

function integer(value: string, column: string): bigint {
  if (!/^-?\d{1,19}$/.test(value)) throw new Error(`${column}: "${clip(value)}" is not an integer`);
  return BigInt(value);
}

/** "2", "0.345", "-1.5" → thousandths; more than three decimals is an error, not a rounding. */
function milli(value: string, column: string): bigint {
  const m = /^(-?)(\d{1,15})(?:\.(\d{1,3}))?$/.exec(value);
  if (!m) {
    throw new Error(`${column}: "${clip(value)}" is not a number with at most 3 decimals`);
  }
  const n = BigInt(m[2] as string) * 1000n + BigInt((m[3] ?? "").padEnd(3, "0"));
  return m[1] ? -n : n;
}

function timestamp(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime())) {
    throw new Error(`occurred_at: "${clip(value)}" is not an RFC 3339 time`);
  }
  return date;
}

/** "CARD:1250;CASH:100": tender (TenderType without its prefix) and amount in minor units. */
function payments(value: string): { tenderType: TenderType; amountMinor: bigint }[] {
  if (value === "") return [];
  return value.split(";").map((part) => {
    const [tender = "", amount = ""] = part.split(":").map((s) => s.trim());
    const tenderType = TenderType[tender.toUpperCase() as keyof typeof TenderType];
    if (typeof tenderType !== "number" || tenderType === TenderType.UNSPECIFIED) {
      throw new Error(`payments: unknown tender "${clip(tender)}"`);
    }
    return { tenderType, amountMinor: integer(amount, "payments amount") };
  });
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
