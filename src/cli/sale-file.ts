import type { Readable } from "node:stream";
import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { parse } from "csv-parse";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { type LineAmounts, totalsOf } from "../contract/sale-rules.js";
import { readLines } from "./lines.js";

/** The file formats `pos-ingest send` reads. */
export type SaleFormat = "ndjson" | "csv";

/**
 * One sale read from a file; or why the sale at `line` could not be read (it is skipped); or
 * why the file cannot be read any further (`fatal`: nothing after `line` is read).
 */
export type SaleLine =
  | { readonly kind: "sale"; readonly sale: Sale; readonly line: number }
  | { readonly kind: "error" | "fatal"; readonly line: number; readonly message: string };

/** Longest line (NDJSON) or record (CSV) read: far above any sale the server takes (1 MiB). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;
/** Most CSV rows one sale may span: twice the server's default MAX_LINE_ITEMS (5,000). */
const MAX_ROWS_PER_SALE = 10_000;

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
  for await (const { text, line, tooLong } of readLines(input, MAX_LINE_CHARS)) {
    if (tooLong) {
      yield { kind: "error", line, message: `line longer than ${MAX_LINE_CHARS} characters` };
      continue;
    }
    // A byte-order mark some editors write at the start of a file.
    const json = line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text;
    if (json.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      yield { kind: "error", line, message: `not JSON: ${messageOf(err)}` };
      continue;
    }
    try {
      yield { kind: "sale", sale: fromJson(SaleSchema, value as JsonValue), line };
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
const OPTIONAL_COLUMNS = [
  "register_id",
  "name",
  "line_discount_minor",
  "line_tax_minor",
  "customer_id",
  "customer_name",
  "customer_email",
  "customer_phone",
  ...TOTAL_COLUMNS,
] as const;
const KNOWN_COLUMNS = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);

type Row = Record<string, string>;

interface CsvRecord {
  record: string[];
  info: { lines: number; empty_lines: number };
}

/**
 * CSV with a header row, one row per line item, as POS exports write it: the rows of a sale are
 * consecutive and repeat its sale-level columns (the first row's are used). A sale with a bad
 * row is reported once, at the first bad row's line, and not sent. An unknown column (a typo
 * would silently zero a tax) or a CSV syntax error (an open quote) ends the file as `fatal`.
 */
async function* readCsv(input: Readable): AsyncGenerator<SaleLine> {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_LINE_CHARS,
    info: true,
  });
  // pipe() does not forward the source's errors (a file that cannot be opened); without this
  // the error would be unhandled and the parser would wait forever.
  input.on("error", (err) => parser.destroy(err));
  input.pipe(parser);
  let header: string[] | undefined;
  let group: { key: string; line: number; rows: Row[]; error?: SaleLine } | undefined;
  let previousEnd = 0;
  let previousEmpty = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
      // A record starts after the previous one and any blank lines skipped since.
      const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
      previousEnd = info.lines;
      previousEmpty = info.empty_lines;
      if (!header) {
        const problem = headerProblem(record);
        if (problem) {
          yield { kind: "fatal", line, message: problem };
          return;
        }
        header = record;
        continue;
      }
      const row: Row = {};
      header.forEach((column, i) => {
        row[column] = record[i] ?? "";
      });
      const key = [row.source, row.location_id, row.sale_id].join("\u0000");
      if (group && group.key !== key) {
        yield group.error ?? toSaleLine(group.rows, group.line);
        group = undefined;
      }
      group ??= { key, line, rows: [] };
      if (group.error) continue;
      if (record.length !== header.length) {
        group.error = {
          kind: "error",
          line,
          message: `row has ${record.length} fields; the header has ${header.length}`,
        };
      } else if (group.rows.length >= MAX_ROWS_PER_SALE) {
        group.error = {
          kind: "error",
          line,
          message: `sale spans more than ${MAX_ROWS_PER_SALE} rows`,
        };
      } else {
        const problem = rowProblem(row);
        if (problem) group.error = { kind: "error", line, message: problem };
        else group.rows.push(row);
      }
    }
  } catch (err) {
    // A syntax error (an open quote) ends the file: what follows cannot be split into rows
    // reliably, and the sale being read may have lost rows, so it is not sent either.
    if (group) {
      yield { kind: "error", line: group.line, message: "cut short by the CSV error below" };
    }
    yield {
      kind: "fatal",
      line: previousEnd + 1,
      message: `unreadable CSV after line ${previousEnd}: ${messageOf(err)}`,
    };
    return;
  }
  if (group) yield group.error ?? toSaleLine(group.rows, group.line);
}

function headerProblem(columns: string[]): string | undefined {
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) return `header lacks column(s) ${missing.join(", ")}`;
  const unknown = columns.filter((c) => !KNOWN_COLUMNS.has(c));
  if (unknown.length > 0) return `header has unknown column(s) ${unknown.join(", ")}`;
  const totals = TOTAL_COLUMNS.filter((c) => columns.includes(c));
  if (totals.length > 0 && totals.length < TOTAL_COLUMNS.length) {
    return `header must have all of ${TOTAL_COLUMNS.join(", ")} or none (then they are computed)`;
  }
  return undefined;
}

/** Checks one row's own fields, so an error names the row it is on. */
function rowProblem(row: Row): string | undefined {
  try {
    lineItemOf(row);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

function toSaleLine(rows: Row[], line: number): SaleLine {
  try {
    return { kind: "sale", sale: saleFromRows(rows), line };
  } catch (err) {
    return { kind: "error", line, message: messageOf(err) };
  }
}

function lineItemOf(r: Row) {
  return {
    sku: r.sku ?? "",
    name: r.name ?? "",
    quantityMilli: milli(r.quantity ?? "", "quantity"),
    unitPriceMinor: integer(r.unit_price_minor ?? "", "unit_price_minor"),
    discountMinor: integer(r.line_discount_minor || "0", "line_discount_minor"),
    taxMinor: integer(r.line_tax_minor || "0", "line_tax_minor"),
  };
}

function saleFromRows(rows: Row[]): Sale {
  const first = rows[0] as Row;
  const lineItems = rows.map(lineItemOf);
  const init: MessageInitShape<typeof SaleSchema> = {
    source: first.source ?? "",
    locationId: first.location_id ?? "",
    registerId: first.register_id ?? "",
    saleId: first.sale_id ?? "",
    occurredAt: timestamp(first.occurred_at ?? ""),
    currency: first.currency ?? "",
    lineItems,
    payments: payments(first.payments ?? ""),
    totals:
      "total_minor" in first
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

const INT64_MAX = 2n ** 63n - 1n;

/** Totals by the server's own rules, for files that carry only line items (and gen-sales). */
export function computedTotals(lines: LineAmounts[]) {
  const totals = totalsOf(lines);
  for (const v of Object.values(totals)) {
    if (v > INT64_MAX || v < -INT64_MAX) throw new Error("totals: amounts too large to add up");
  }
  return totals;
}

function integer(value: string, column: string): bigint {
  const n = /^-?\d{1,19}$/.test(value) ? BigInt(value) : undefined;
  if (n === undefined || n > INT64_MAX || n < -INT64_MAX) {
    throw new Error(`${column}: "${clip(value)}" is not a 64-bit integer`);
  }
  return n;
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

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time with an explicit offset, to the nanosecond. No offset is an error, not local
 * time: the same file read in two time zones must give the same sales (and the same keys).
 */
function timestamp(value: string): { seconds: bigint; nanos: number } {
  const m = RFC3339.exec(value);
  const bad = () =>
    new Error(`occurred_at: "${clip(value)}" is not an RFC 3339 time with an offset`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  // Date.UTC rolls 30 February over into March; a real date survives the round trip.
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw bad();
  }
  const offsetMinutes = m[8] ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const nanos = Number((m[7] ?? "").padEnd(9, "0"));
  return { seconds: BigInt(ms / 1000 - offsetMinutes * 60), nanos };
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
