import { Readable } from "node:stream";
import { parse } from "csv-parse";

/**
 * The records of a CSV file as written: cells untrimmed, a byte-order mark dropped, the
 * delimiter detected from the header line unless given, and for each record the lines it spans
 * and its raw text (so refused rows can be written back in the file's own format).
 */

/** How a CSV file is written; what is absent is detected (delimiter) or the RFC 4180 default. */
export interface CsvDialect {
  readonly delimiter?: string | undefined;
  readonly quote?: string | undefined;
  readonly escape?: string | undefined;
}

/** One record: the header (first) or a data row. */
export interface CsvRecord {
  readonly cells: string[];
  /** First and last line of the record (a quoted cell may hold line breaks). */
  readonly line: number;
  readonly lastLine: number;
  /** The record as written, without its line ending; undefined unless asked for. */
  readonly raw?: string;
}

/** The delimiters detected, in order of preference when a header line has as many of each. */
const DELIMITERS = [",", ";", "\t", "|"] as const;
/** How much of a file's start is read to find its header line. */
const SNIFF_BYTES = 1024 * 1024;

/** What csv-parse gives for one record. */
export interface ParsedRecord {
  readonly record: string[];
  readonly info: { readonly lines: number; readonly empty_lines: number };
  readonly raw?: string;
}

/** A CSV file being read: the parser's records, and how to number them. */
export interface CsvSource {
  /** The header line's ending, for writing rows back. */
  readonly lineEnding: "\n" | "\r\n";
  /** Throws (from the iteration) on a syntax error, after what was read before it. */
  readonly parsed: AsyncIterable<ParsedRecord>;
  /** The record a parsed one is, numbered; call once per record, in order. */
  record(parsed: ParsedRecord): CsvRecord;
}

/**
 * Opens `input` as CSV. `keepRaw` keeps each record's text, for a rejects file. (The records are
 * numbered by the caller's loop, not by a generator of our own: an async generator in between
 * costs a promise and a microtask per row.)
 */
export async function openCsv(
  input: Readable,
  dialect: CsvDialect,
  options: { maxRecordChars: number; keepRaw: boolean },
): Promise<CsvSource> {
  const { head, rest } = await peek(input);
  const firstLine =
    head
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .split("\n", 1)[0] ?? "";
  const quote = dialect.quote ?? '"';
  const parser = parse({
    bom: true,
    delimiter: dialect.delimiter ?? sniffDelimiter(firstLine, quote),
    quote,
    escape: dialect.escape ?? quote,
    trim: false,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: options.maxRecordChars,
    info: true,
    raw: options.keepRaw,
  });
  // pipe() does not forward the source's errors (a file that cannot be opened); without this
  // the error would be unhandled and the parser would wait forever.
  rest.on("error", (err) => parser.destroy(err));
  rest.pipe(parser);
  let previousEnd = 0;
  let previousEmpty = 0;
  return {
    lineEnding: firstLine.endsWith("\r") ? "\r\n" : "\n",
    parsed: parser as AsyncIterable<ParsedRecord>,
    record({ record, info, raw }) {
      // A record starts after the previous one and any blank lines skipped since.
      const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
      previousEnd = info.lines;
      previousEmpty = info.empty_lines;
      return {
        cells: record,
        line,
        lastLine: info.lines,
        // csv-parse's raw text carries the blank lines skipped before it and (some of) its line end.
        ...(raw !== undefined && { raw: raw.replace(/^[\r\n]+/, "").replace(/[\r\n]+$/, "") }),
      };
    },
  };
}

/** Reads `input` as CSV, record by record (for callers that need no speed). */
export async function* readCsvRecords(
  input: Readable,
  dialect: CsvDialect,
  options: { maxRecordChars: number; keepRaw: boolean },
): AsyncGenerator<CsvRecord & { lineEnding: "\n" | "\r\n" }> {
  const source = await openCsv(input, dialect, options);
  for await (const parsed of source.parsed) {
    yield { ...source.record(parsed), lineEnding: source.lineEnding };
  }
}

/** Of , ; TAB and |, the one the header line has most of outside quotes (a comma if none). */
export function sniffDelimiter(headerLine: string, quote = '"'): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === quote) quoted = !quoted;
    else if (!quoted && (DELIMITERS as readonly string[]).includes(ch)) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
  }
  let best: string = DELIMITERS[0];
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** Reads the start of `input` (to its first line break) and gives a stream of all of it. */
async function peek(input: Readable): Promise<{ head: Buffer; rest: Readable }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  try {
    while (size < SNIFF_BYTES) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
      chunks.push(chunk);
      size += chunk.length;
      if (chunk.includes(10)) break;
    }
  } catch (err) {
    // The file cannot be read at all: the reader reports it as the input's error.
    return { head: Buffer.alloc(0), rest: failing(err) };
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    while (!ended) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    }
  }
  return { head, rest: Readable.from(all(), { objectMode: false }) };
}

function failing(err: unknown): Readable {
  return new Readable({
    read() {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  });
}
