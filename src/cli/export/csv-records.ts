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

/**
 * Reads `input` as CSV. Throws (from the iteration) on a syntax error, with what was read before
 * it already yielded. `keepRaw` keeps each record's text, for a rejects file.
 */
export async function* readCsvRecords(
  input: Readable,
  dialect: CsvDialect,
  options: { maxRecordChars: number; keepRaw: boolean },
): AsyncGenerator<CsvRecord & { lineEnding: "\n" | "\r\n" }> {
  const { head, rest } = await peek(input);
  const firstLine =
    head
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .split("\n", 1)[0] ?? "";
  const lineEnding = firstLine.endsWith("\r") ? "\r\n" : "\n";
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
  type Parsed = { record: string[]; info: { lines: number; empty_lines: number }; raw?: string };
  for await (const { record, info, raw } of parser as AsyncIterable<Parsed>) {
    // A record starts after the previous one and any blank lines skipped since.
    const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
    previousEnd = info.lines;
    previousEmpty = info.empty_lines;
    yield {
      cells: record,
      line,
      lastLine: info.lines,
      lineEnding,
      // csv-parse's raw text carries the blank lines skipped before it and (some of) its line end.
      ...(raw !== undefined && { raw: raw.replace(/^[\r\n]+/, "").replace(/[\r\n]+$/, "") }),
    };
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
