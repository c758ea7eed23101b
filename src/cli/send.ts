import { createReadStream, ReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  createIngestClient,
  IngestManyError,
  type IngestManyProgress,
  type IngestManyResult,
  NO_PROGRESS,
  type SaleInput,
} from "../client/index.js";
import { type ConnectionFlags, clientOptions } from "./connection.js";
import { createProgress, type ProgressMode } from "./progress.js";
import { formatOf, readSales, type SaleFormat } from "./sale-file.js";

export interface SendFlags extends ConnectionFlags {
  readonly format?: SaleFormat;
  readonly streamSize: number;
  readonly concurrency: number;
  readonly progress: ProgressMode;
  readonly maxRejections: number;
  readonly json?: boolean;
}

/** A line that was not stored, and why. */
interface LineRejection {
  readonly line: number;
  readonly message: string;
}

/** Exit codes of `send`: everything stored; some sales rejected; the load did not complete. */
export const EXIT = { ok: 0, rejected: 1, failed: 2 } as const;

/**
 * `pos-ingest send FILE`: reads sales (NDJSON or CSV, `-` for stdin), streams them with the
 * client library (keys from the POS ids, so rerunning a file after a failure stores nothing
 * twice), shows progress on stderr, and prints a summary on stdout.
 */
export async function runSend(file: string, flags: SendFlags): Promise<number> {
  const format = flags.format ?? (file === "-" ? "ndjson" : formatOf(file));
  const open = (): Readable => {
    input = file === "-" ? process.stdin : createReadStream(file);
    return input;
  };
  // A regular file's size measures progress; a pipe, a FIFO or /dev/stdin has none.
  const stats = file === "-" ? undefined : await stat(file);
  const size = stats?.isFile() ? stats.size : undefined;
  let input: Readable | undefined;
  const bytesRead = () => (input instanceof ReadStream ? input.bytesRead : undefined);
  let fatal: { line: number; message: string } | undefined;
  const started = performance.now();
  const lineOf = new WeakMap<object, number>();
  // Rejections: all counted, the first few kept (a garbage file must not fill memory).
  const unreadable: LineRejection[] = [];
  const refused: LineRejection[] = [];
  let unreadableCount = 0;
  let server: IngestManyProgress = NO_PROGRESS;
  const progress = createProgress(flags.progress, size);
  const show = () =>
    progress.update({
      done: server.received + unreadableCount,
      accepted: server.accepted,
      duplicate: server.duplicate,
      rejected: server.rejected + unreadableCount,
      ...(size !== undefined && { bytes: bytesRead() }),
    });

  async function* sales(): AsyncGenerator<SaleInput> {
    for await (const item of readSales(open(), format)) {
      if (item.kind !== "sale") {
        if (item.kind === "fatal") {
          fatal = item;
          return;
        }
        unreadableCount++;
        if (unreadable.length < flags.maxRejections) unreadable.push(item);
        show();
        continue;
      }
      lineOf.set(item.sale, item.line);
      yield item.sale;
    }
  }

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  const client = createIngestClient({
    ...clientOptions(flags),
    onRetry: (e, delayMs) => {
      process.stderr.write(`retrying a stream in ${Math.round(delayMs)} ms: ${e.message}\n`);
    },
  });
  let result: IngestManyResult;
  let failure: string | undefined;
  try {
    result = await client.ingestMany(sales(), {
      streamSize: flags.streamSize,
      concurrency: flags.concurrency,
      signal: abort.signal,
      collectRejections: false,
      onRejection: (r) => {
        // Streams complete out of order: keep the earliest lines, not the first to arrive.
        refused.push({
          line: lineOf.get(r.sale as object) ?? 0,
          message: r.field ? `${r.field}: ${r.message}` : r.message,
        });
        if (refused.length > 2 * flags.maxRejections) {
          refused.sort((a, b) => a.line - b.line).length = flags.maxRejections;
        }
      },
      onProgress: (p) => {
        server = p;
        show();
      },
    });
  } catch (err) {
    if (err instanceof IngestManyError) {
      failure = err.message;
      result = err.partial;
    } else {
      // The input failed midway (a read error): what the completed streams stored still counts.
      failure = `reading ${file} failed: ${err instanceof Error ? err.message : String(err)}`;
      result = { ...server, rejections: [] };
    }
  } finally {
    progress.stop();
    process.off("SIGINT", onSignal);
    client.close();
  }

  // A file that cannot be read to its end (a CSV syntax error, an unknown column) is incomplete.
  if (fatal) failure ??= `line ${fatal.line}: ${fatal.message}`;
  const rejections: LineRejection[] = [
    ...unreadable.map(({ line, message }) => ({ line, message })),
    ...refused,
  ].sort((a, b) => a.line - b.line);
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    file,
    server: flags.server,
    complete: failure === undefined,
    ...(failure !== undefined && { error: failure }),
    sales: result.received + unreadableCount,
    accepted: result.accepted,
    duplicate: result.duplicate,
    rejected: result.rejected + unreadableCount,
    unreadable: unreadableCount,
    refused: result.rejected,
    resentStreams: result.resentStreams,
    seconds: Math.round(seconds * 100) / 100,
    salesPerSecond: Math.round(result.received / Math.max(seconds, 0.001)),
    rejections: rejections.slice(0, flags.maxRejections),
  };
  process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : humanSummary(summary));
  if (failure !== undefined) return EXIT.failed;
  return summary.rejected > 0 ? EXIT.rejected : EXIT.ok;
}

function humanSummary(s: {
  file: string;
  server: string;
  complete: boolean;
  error?: string;
  sales: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  unreadable: number;
  refused: number;
  resentStreams: number;
  seconds: number;
  salesPerSecond: number;
  rejections: LineRejection[];
}): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const width = n(s.sales).length;
  const row = (label: string, x: number, note = "") =>
    `  ${label.padEnd(10)}${n(x).padStart(width)}${note}\n`;
  let out = s.complete
    ? `${n(s.sales)} sales from ${s.file} to ${s.server} in ${s.seconds} s (${n(s.salesPerSecond)} sales/s)\n`
    : `INCOMPLETE: ${s.error}\n${n(s.sales)} sales answered before it stopped; rerun the same file: stored sales come back as duplicates\n`;
  out += row("accepted", s.accepted);
  out += row("duplicate", s.duplicate);
  out += row(
    "rejected",
    s.rejected,
    s.rejected > 0
      ? `  (${n(s.unreadable)} unreadable, ${n(s.refused)} refused by the server)`
      : "",
  );
  if (s.resentStreams > 0) out += `  ${n(s.resentStreams)} stream(s) were resent after a failure\n`;
  if (s.rejections.length > 0) {
    out +=
      s.rejections.length < s.rejected
        ? `first ${s.rejections.length} rejections:\n`
        : "rejections:\n";
    for (const r of s.rejections) out += `  line ${r.line}: ${r.message}\n`;
  }
  return out;
}
