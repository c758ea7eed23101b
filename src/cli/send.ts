import { createReadStream, ReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  createIngestClient,
  IngestManyError,
  type IngestManyProgress,
  type IngestManyResult,
  type ManyRejection,
  NO_PROGRESS,
  type SaleInput,
} from "../client/index.js";
import { unsendable } from "../client/ingest-many.js";
import { preCheck } from "../client/pre-check.js";
import { saleKey } from "../client/sale-key.js";
import { type ConnectionFlags, clientOptions } from "./connection.js";
import {
  hasMappingFlags,
  loadMappingFile,
  type Mapping,
  type MappingFlags,
  resolveMapping,
} from "./export/mapping-file.js";
import { type LineRange, type LoadRejection, rejection } from "./load-rejection.js";
import { createProgress, type ProgressMode } from "./progress.js";
import { RejectsFile } from "./rejects-file.js";
import { formatOf, readSales, type SaleFormat } from "./sale-file.js";
import { humanSummary, listedRejections, RejectionLog, type SendSummary } from "./send-summary.js";

export interface SendFlags extends ConnectionFlags, MappingFlags {
  readonly format?: SaleFormat;
  readonly streamSize: number;
  readonly concurrency: number;
  /** Sales per message, at most (default the client library's; 1: IngestStream). */
  readonly recordsPerMessage?: number;
  readonly progress: ProgressMode;
  /** Rejections to list (default 20 on a terminal, 100,000 with --json); all are counted. */
  readonly maxRejections?: number;
  readonly json?: boolean;
  /** A mapping file (JSON or YAML) for an export that is not in the plain format. */
  readonly mapping?: string;
  /** Read, map and check; send nothing. */
  readonly dryRun?: boolean;
  /** Write the refused rows, as written in the input, to this file. */
  readonly rejects?: string;
}

/** Exit codes of `send`: everything stored; some sales rejected; the load did not complete. */
export const EXIT = { ok: 0, rejected: 1, failed: 2 } as const;

/** Where a sale came from: for its rejection's lines and for the rejects file. */
interface Origin {
  readonly lines: readonly LineRange[];
  readonly raw?: readonly string[];
}

/**
 * `pos-ingest send FILE`: reads sales (NDJSON or CSV, `-` for stdin; an export through a
 * mapping), checks each with the server's own rules, streams the valid ones with the client
 * library (keys from the POS ids, so rerunning a file after a failure stores nothing twice),
 * shows progress on stderr, and prints a summary on stdout. `--dry-run` does all but send.
 */
export async function runSend(file: string, flags: SendFlags): Promise<number> {
  const mapping = await mappingOf(flags);
  const format = flags.format ?? mapping?.format ?? (file === "-" ? "ndjson" : formatOf(file));
  // A regular file's size measures progress; a pipe, a FIFO or /dev/stdin has none.
  const stats = file === "-" ? undefined : await stat(file);
  const size = stats?.isFile() ? stats.size : undefined;
  let input: Readable | undefined;
  const open = (): Readable => {
    input = file === "-" ? process.stdin : createReadStream(file);
    return input;
  };
  const bytesRead = () => (input instanceof ReadStream ? input.bytesRead : undefined);
  const rejects = flags.rejects ? new RejectsFile(flags.rejects) : undefined;
  const log = new RejectionLog(flags.maxRejections ?? (flags.json ? 100_000 : 20));
  let localUnreadable = 0;
  let localRefused = 0;
  let valid = 0;
  const origins = new WeakMap<object, Origin>();
  let fatal: { line: number; message: string } | undefined;
  const started = performance.now();
  let server: IngestManyProgress = NO_PROGRESS;
  const progress = createProgress(flags.progress, size);
  const show = () =>
    progress.update({
      done: server.received + localUnreadable + localRefused + (flags.dryRun ? valid : 0),
      accepted: flags.dryRun ? valid : server.accepted,
      duplicate: server.duplicate,
      rejected: server.rejected + localUnreadable + localRefused,
      ...(size !== undefined && { bytes: bytesRead() }),
    });
  const reject = (r: LoadRejection, raw: readonly string[] | undefined) => {
    log.add(r);
    if (raw) rejects?.write(raw);
  };

  async function* sales(): AsyncGenerator<SaleInput> {
    const items = readSales(open(), format, {
      mapping,
      keepRaw: rejects !== undefined,
      ...(rejects && { onHeader: (raw, lineEnding) => rejects.header(raw, lineEnding) }),
    });
    for await (const item of items) {
      if (item.kind === "fatal") {
        fatal = item;
        return;
      }
      if (item.kind === "error") {
        localUnreadable++;
        reject(item.rejection, item.raw);
        show();
        continue;
      }
      // Every violation, where the server would name only the first: the client sends only
      // what passes, so the server's rules are applied once, here, with the same module.
      const violations = preCheck(item.sale, {});
      if (violations.length > 0) {
        localRefused++;
        const r = rejection("invalid_argument", item.lines, violations, item.sale.saleId);
        reject(r, item.raw);
        show();
        continue;
      }
      // What the client library refuses before sending (and reports as the server would), so a
      // dry run reports it too.
      const unfit = flags.dryRun ? unsendable(item.sale, saleKey(item.sale)) : undefined;
      if (unfit) {
        localRefused++;
        const violation = { field: unfit.field, description: unfit.message };
        reject(rejection("invalid_argument", item.lines, [violation], item.sale.saleId), item.raw);
        show();
        continue;
      }
      valid++;
      origins.set(item.sale, { lines: item.lines, ...(item.raw && { raw: item.raw }) });
      yield item.sale;
    }
  }

  const onServerRejection = (r: ManyRejection) => {
    const origin = origins.get(r.sale as object);
    const lines = origin?.lines ?? [];
    const violation = { field: r.field, description: r.message };
    reject(rejection(r.reason, lines, [violation], r.sale.saleId), origin?.raw);
  };

  let result: IngestManyResult = { ...NO_PROGRESS, rejections: [] };
  let failure: string | undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  try {
    if (flags.dryRun) {
      for await (const _ of sales()) {
        if (abort.signal.aborted) throw new Error("interrupted");
        show();
      }
    } else {
      result = await sendAll(sales(), flags, abort.signal, onServerRejection, (p) => {
        server = p;
        show();
      });
    }
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
  }
  await rejects?.close();

  // A file that cannot be read to its end (a CSV syntax error, an unknown column) is incomplete.
  if (fatal) failure ??= `line ${fatal.line}: ${fatal.message}`;
  const seconds = (performance.now() - started) / 1000;
  const answered = flags.dryRun ? valid : result.received;
  const summary: SendSummary = {
    file,
    ...(!flags.dryRun && { server: flags.server }),
    dryRun: flags.dryRun === true,
    complete: failure === undefined,
    ...(failure !== undefined && { error: failure }),
    sales: answered + localUnreadable + localRefused,
    accepted: flags.dryRun ? valid : result.accepted,
    duplicate: result.duplicate,
    rejected: result.rejected + localUnreadable + localRefused,
    unreadable: localUnreadable,
    refused: result.rejected + localRefused,
    resentStreams: result.resentStreams,
    seconds: Math.round(seconds * 100) / 100,
    salesPerSecond: Math.round(answered / Math.max(seconds, 0.001)),
    ...(rejects && flags.rejects && { rejectsFile: { path: flags.rejects, rows: rejects.rows } }),
    byReason: log.counts(),
    rejections: listedRejections(log),
  };
  process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : humanSummary(summary));
  if (failure !== undefined) return EXIT.failed;
  return summary.rejected > 0 ? EXIT.rejected : EXIT.ok;
}

/** The mapping the flags ask for (a mapping file, flags over it), or none for the plain formats. */
export async function mappingOf(
  flags: MappingFlags & { readonly mapping?: string },
): Promise<Mapping | undefined> {
  if (!flags.mapping && !hasMappingFlags(flags)) return undefined;
  const file = flags.mapping ? await loadMappingFile(flags.mapping) : undefined;
  return resolveMapping(file, flags, flags.mapping ?? "mapping flags");
}

async function sendAll(
  sales: AsyncIterable<SaleInput>,
  flags: SendFlags,
  signal: AbortSignal,
  onRejection: (r: ManyRejection) => void,
  onProgress: (p: IngestManyProgress) => void,
): Promise<IngestManyResult> {
  const client = createIngestClient({
    ...clientOptions(flags),
    // Checked above with every violation listed; checking again would only cost CPU.
    validate: false,
    onRetry: (e, delayMs) => {
      process.stderr.write(`retrying a stream in ${Math.round(delayMs)} ms: ${e.message}\n`);
    },
  });
  try {
    return await client.ingestMany(sales, {
      streamSize: flags.streamSize,
      concurrency: flags.concurrency,
      ...(flags.recordsPerMessage !== undefined && { recordsPerMessage: flags.recordsPerMessage }),
      signal,
      collectRejections: false,
      onRejection,
      onProgress,
    });
  } finally {
    client.close();
  }
}
