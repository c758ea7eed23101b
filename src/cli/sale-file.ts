import type { Readable } from "node:stream";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { parse } from "csv-parse";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { headerProblem, type Row } from "./csv-columns.js";
import { CSV_RULES, computedTotals } from "./csv-rules.js";
import { rowItem, saleFromRows } from "./csv-sale.js";
import { readLines } from "./lines.js";

export { computedTotals };

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
    // Values are taken as written (a name's trailing space is part of it); the cell parsers
    // ignore spaces around numbers, times and keywords.
    trim: false,
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
        // Column names are names, not data: "sku, name" names the columns sku and name.
        const names = record.map((c) => c.trim());
        const problem = headerProblem(names);
        if (problem) {
          yield { kind: "fatal", line, message: problem };
          return;
        }
        header = names;
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

/** Checks one row's own fields, so an error names the row it is on. */
function rowProblem(row: Row): string | undefined {
  try {
    rowItem(row, CSV_RULES);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

function toSaleLine(rows: Row[], line: number): SaleLine {
  try {
    return { kind: "sale", sale: saleFromRows(rows, CSV_RULES), line };
  } catch (err) {
    return { kind: "error", line, message: messageOf(err) };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
