import type { Readable } from "node:stream";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { CellError } from "./cell-error.js";
import { headerProblem, type Row } from "./csv-columns.js";
import { CSV_RULES, computedTotals } from "./csv-rules.js";
import { rowItem, type SaleOptions, saleFromRows } from "./csv-sale.js";
import { openCsv } from "./export/csv-records.js";
import type { Mapping } from "./export/mapping-file.js";
import { fieldNames, ndjsonField, readNdjsonRecords } from "./export/ndjson-records.js";
import { compileMapping, type RowMapper } from "./export/row-mapper.js";
import { type RowGroup, SaleGrouper } from "./export/sale-grouper.js";
import { readLines } from "./lines.js";
import {
  type LineRange,
  type LoadRejection,
  linesText,
  rejection,
  rejectionMessage,
  type Violation,
} from "./load-rejection.js";

export { computedTotals };

/** The file formats `pos-ingest send` reads. */
export type SaleFormat = "ndjson" | "csv";

/**
 * One transaction read from a file, with the lines of its rows; or why the transaction at
 * `line` is not sent (it is skipped); or why the file cannot be read any further (`fatal`:
 * nothing after `line` is read). `raw` holds the rows as written, when asked for.
 */
export type SaleLine =
  | {
      readonly kind: "sale";
      readonly sale: Sale;
      readonly line: number;
      readonly lines: readonly LineRange[];
      readonly raw?: readonly string[];
    }
  | {
      readonly kind: "error";
      readonly line: number;
      readonly message: string;
      readonly rejection: LoadRejection;
      readonly raw?: readonly string[];
    }
  | { readonly kind: "fatal"; readonly line: number; readonly message: string };

/** How to read a file beyond its format. */
export interface ReadOptions {
  /** How the export's columns make transactions; absent, the plain formats (README). */
  readonly mapping?: Mapping | undefined;
  /** Keep each transaction's rows as written (for a rejects file). */
  readonly keepRaw?: boolean;
  /** Called with the header as written and the file's line ending, before any transaction. */
  readonly onHeader?: (raw: string, lineEnding: string) => void;
}

/** Longest line (NDJSON) or record (CSV) read: far above any sale the server takes (1 MiB). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;
/** Most CSV rows one sale may span: twice the server's default MAX_LINE_ITEMS (5,000). */
const MAX_ROWS_PER_SALE = 10_000;
/** Rows read past a transaction's last row before it is sent (README, "Loading an export"). */
export const DEFAULT_GROUP_WINDOW = 10_000;

/** The format a file name implies: `.csv` is CSV, anything else NDJSON. */
export function formatOf(path: string): SaleFormat {
  return path.toLowerCase().endsWith(".csv") ? "csv" : "ndjson";
}

/** Reads transactions from `input`, one at a time, with the (1-based) line each starts on. */
export function readSales(
  input: Readable,
  format: SaleFormat,
  options: ReadOptions = {},
): AsyncGenerator<SaleLine> {
  if (format === "csv") return readCsv(input, options);
  return options.mapping
    ? readNdjsonRows(input, options.mapping, options)
    : readNdjson(input, options.keepRaw === true);
}

/**
 * NDJSON: one sale per line in the protobuf JSON mapping (`saleId` or `sale_id`, int64 as a
 * number or a string, timestamps in RFC 3339, enums by name). Blank lines are skipped.
 */
async function* readNdjson(input: Readable, keepRaw: boolean): AsyncGenerator<SaleLine> {
  for await (const { text, line, tooLong } of readLines(input, MAX_LINE_CHARS)) {
    if (tooLong) {
      yield unreadable(line, "line", `longer than ${MAX_LINE_CHARS} characters`);
      continue;
    }
    // A byte-order mark some editors write at the start of a file.
    const json = line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text;
    if (json.trim() === "") continue;
    const raw = keepRaw ? [json] : undefined;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      yield unreadable(line, "line", `not JSON: ${messageOf(err)}`, raw);
      continue;
    }
    try {
      const sale = fromJson(SaleSchema, value as JsonValue);
      yield { kind: "sale", sale, line, lines: [[line, line]], ...(raw && { raw }) };
    } catch (err) {
      yield unreadable(line, "sale", messageOf(err), raw);
    }
  }
}

/**
 * CSV with a header row, one row per line item, as POS exports write it: the rows of a sale
 * repeat its sale-level columns (the first row's are used) and need not be consecutive (see
 * SaleGrouper). A sale with bad rows is reported once, listing them, and not sent. A column
 * nobody reads (a typo would silently zero a tax) or a CSV syntax error (an open quote) ends the
 * file as `fatal`.
 */
async function* readCsv(input: Readable, options: ReadOptions): AsyncGenerator<SaleLine> {
  const mapping = options.mapping;
  const source = await openCsv(input, mapping?.csv ?? {}, {
    maxRecordChars: MAX_LINE_CHARS,
    keepRaw: options.keepRaw === true,
  });
  let header: string[] | undefined;
  let mapper: RowMapper<string[]> | undefined;
  const rows = new RowsToSales(mapping, options.keepRaw === true);
  let lastLine = 0;
  try {
    for await (const parsed of source.parsed) {
      const record = source.record(parsed);
      lastLine = record.lastLine;
      if (!header) {
        // Column names are names, not data: "sku, name" names the columns sku and name.
        const names = record.cells.map((c) => c.trim());
        const problem = mapping ? undefined : headerProblem(names);
        if (problem) {
          yield { kind: "fatal", line: record.line, message: problem };
          return;
        }
        try {
          mapper = compileMapping<string[]>(mapping ?? EMPTY_MAPPING, {
            columns: names,
            column: (name) => {
              const i = names.indexOf(name);
              return i < 0 ? undefined : (cells) => cells[i] ?? "";
            },
          });
        } catch (err) {
          yield { kind: "fatal", line: record.line, message: messageOf(err) };
          return;
        }
        header = names;
        options.onHeader?.(record.raw ?? record.cells.join(","), source.lineEnding);
        continue;
      }
      const span: LineRange = [record.line, record.lastLine];
      const width =
        record.cells.length === header.length
          ? undefined
          : `has ${record.cells.length} fields; the header has ${header.length}`;
      // A plain loop: yield* of a sync generator in an async one costs a microtask hop per row.
      for (const item of rows.add(
        mapper as RowMapper<string[]>,
        record.cells,
        span,
        record.raw,
        width,
      ))
        yield item;
    }
  } catch (err) {
    // A syntax error (an open quote) ends the file: what follows cannot be split into rows
    // reliably, and the sales being read may have lost rows, so they are not sent either.
    for (const item of rows.cutShort()) yield item;
    yield {
      kind: "fatal",
      line: lastLine + 1,
      message: `unreadable CSV after line ${lastLine}: ${messageOf(err)}`,
    };
    return;
  }
  for (const item of rows.end()) yield item;
}

/** NDJSON read through a mapping: each object (or each of its items) one row. */
async function* readNdjsonRows(
  input: Readable,
  mapping: Mapping,
  options: ReadOptions,
): AsyncGenerator<SaleLine> {
  const items = mapping.ndjson?.items;
  const mapper = compileMapping(mapping, { column: (name) => ndjsonField(name) });
  const rows = new RowsToSales(mapping, options.keepRaw === true);
  const records = readNdjsonRecords(input, {
    items,
    maxLineChars: MAX_LINE_CHARS,
    keepRaw: options.keepRaw === true,
  });
  let previousLine = 0;
  for await (const r of records) {
    if ("problem" in r) {
      yield unreadable(r.line, "line", r.problem, r.raw !== undefined ? [r.raw] : undefined);
      continue;
    }
    const unknown = fieldNames(r, items).filter((name) => !mapper.knows(name));
    const problem =
      unknown.length > 0
        ? `has field(s) ${unknown.join(", ")} the mapping does not read: map them, or list them in "ignore"`
        : undefined;
    // An object's items share its line (and its raw text, written to a rejects file once).
    const raw = previousLine === r.line ? undefined : r.raw;
    previousLine = r.line;
    for (const item of rows.add(mapper, r, [r.line, r.line], raw, problem)) yield item;
  }
  for (const item of rows.end()) yield item;
}

const NONE: SaleLine[] = [];
const EMPTY_MAPPING: Mapping = Object.freeze({ columns: {}, values: {}, ignore: [], rules: [] });

/** Rows, mapped, grouped into transactions, and those into sales or rejections. */
class RowsToSales {
  readonly #grouper: SaleGrouper;
  readonly #options: SaleOptions;
  readonly #keepRaw: boolean;
  readonly #window: number;
  #lone = 0;
  #mapper: RowMapper<never> | undefined;

  constructor(mapping: Mapping | undefined, keepRaw: boolean) {
    this.#window = mapping?.group?.window ?? DEFAULT_GROUP_WINDOW;
    this.#grouper = new SaleGrouper(this.#window);
    const tender = mapping?.tender?.type;
    this.#options = {
      tender: tender === undefined ? undefined : TenderType[tender as keyof typeof TenderType],
    };
    this.#keepRaw = keepRaw;
  }

  add<R>(
    mapper: RowMapper<R>,
    record: R,
    span: LineRange,
    raw: string | undefined,
    recordProblem: string | undefined,
  ): SaleLine[] {
    this.#mapper = mapper as RowMapper<never>;
    const line = span[0];
    let row: Row | undefined;
    let problem: Violation | undefined;
    try {
      const mapped = mapper.map(record);
      row = mapped.row;
      if (mapped.problem !== undefined) problem = this.#violation(mapped.problem, line);
    } catch (err) {
      problem = this.#violation(err, line);
    }
    const key = row
      ? `${row.source ?? ""}\u0000${row.location_id ?? ""}\u0000${row.sale_id ?? ""}`
      : `\u0001${this.#lone++}`;
    if (!problem && recordProblem) problem = { field: "row", description: recordProblem, line };
    if (!problem && row) problem = this.#rowProblem(row, line);
    const closed = this.#grouper.add(key, {
      row: problem ? undefined : row,
      problem,
      span,
      raw: this.#keepRaw ? raw : undefined,
    });
    return closed.length === 0 ? NONE : closed.map((group) => this.#saleLine(group));
  }

  end(): SaleLine[] {
    return this.#grouper.end().map((group) => this.#saleLine(group));
  }

  cutShort(): SaleLine[] {
    return this.#grouper.end().map((group) => {
      const lines = group.spans;
      const cut = { field: "file", description: "cut short by the CSV error below" };
      return errorLine(rejection("unreadable", lines, [cut], saleIdOf(group)), group.raws);
    });
  }

  #rowProblem(row: Row, line: number): Violation | undefined {
    try {
      rowItem(row, CSV_RULES);
      return undefined;
    } catch (err) {
      return this.#violation(err, line);
    }
  }

  #violation(err: unknown, line?: number): Violation {
    const at = line === undefined ? {} : { line };
    if (!(err instanceof CellError)) return { field: "row", description: messageOf(err), ...at };
    const column = this.#mapper?.sourceOf(err.column);
    return {
      field: err.column,
      description: err.description,
      ...at,
      ...(column !== undefined && column !== err.column && { column }),
    };
  }

  #saleLine(group: RowGroup): SaleLine {
    const lines = group.spans;
    const saleId = saleIdOf(group);
    if (group.splitFrom !== undefined) {
      const sent = group.splitFrom;
      const split = {
        field: "sale_id",
        description: `more rows of a transaction sent before from line(s) ${linesText(sent)}: its rows are more than ${this.#window} rows apart (sort the file by transaction, or raise --group-window)`,
      };
      const r = rejection("split_sale", lines, [split], saleId);
      return errorLine({ ...r, sentLines: sent }, group.raws);
    }
    if (group.rows.length > MAX_ROWS_PER_SALE) {
      const big = { field: "row", description: `sale spans more than ${MAX_ROWS_PER_SALE} rows` };
      return errorLine(rejection("unreadable", lines, [big], saleId), group.raws);
    }
    if (group.problems.length > 0) {
      return errorLine(rejection("unreadable", lines, group.problems, saleId), group.raws);
    }
    try {
      const sale = saleFromRows(group.rows, CSV_RULES, this.#options);
      return {
        kind: "sale",
        sale,
        line: lines[0]?.[0] ?? 0,
        lines,
        ...(this.#keepRaw && { raw: group.raws }),
      };
    } catch (err) {
      // The transaction's columns are its first row's.
      const violation = this.#violation(err, lines[0]?.[0]);
      return errorLine(rejection("unreadable", lines, [violation], saleId), group.raws);
    }
  }
}

function saleIdOf(group: RowGroup): string | undefined {
  return (
    group.rows[0]?.sale_id ??
    (group.key.startsWith("\u0001") ? undefined : group.key.split("\u0000")[2])
  );
}

function errorLine(r: LoadRejection, raw: readonly string[] | undefined): SaleLine {
  return {
    kind: "error",
    line: r.line,
    message: rejectionMessage(r),
    rejection: r,
    ...(raw !== undefined && raw.length > 0 && { raw }),
  };
}

function unreadable(
  line: number,
  field: string,
  description: string,
  raw?: readonly string[],
): SaleLine {
  return errorLine(rejection("unreadable", [[line, line]], [{ field, description, line }]), raw);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
