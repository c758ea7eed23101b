import { accessSync, constants } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runForJson, runNodeForJson } from "./child.js";
import {
  type ConfigDir,
  type ConfigName,
  isBatchConfig,
  type Placeholders,
  readConfig,
  shippedConfigPath,
  withRecordsPerMessage,
} from "./ghz-config.js";
import { cpuSnapshot, cpuUsedBetween } from "./process-stats.js";
import type { GhzReport } from "./report.js";

/** Which tool drives the load: ghz when installed, else the built-in generator. */
export type LoadTool = "ghz" | "built-in";

/** One load run: a shipped config, its placeholders, and ghz's knobs for this run. */
export interface LoadRun {
  readonly config: ConfigName;
  readonly placeholders: Placeholders;
  readonly host: string;
  readonly concurrency: number;
  readonly total: number;
  readonly connections: number;
  /** Messages per stream (ghz's `stream-call-count`); for a batch config, not records. */
  readonly streamCallCount?: number;
  /** Records in each message of a batch config (IngestBatchStream); required for one. */
  readonly recordsPerMessage?: number;
  readonly rps?: number;
  /**
   * The built-in generator's unreported calls before the measured ones, when not the default:
   * 0 where the server is warm already and the warm-up would dilute a figure taken around the
   * whole run (a paced load's database CPU).
   */
  readonly warmup?: number;
}

/** Records per message of a run: 1 but for a batch config. */
export function recordsPerMessageOf(run: LoadRun): number {
  if (!isBatchConfig(run.config)) return 1;
  if (run.recordsPerMessage === undefined)
    throw new Error(`${run.config}: a batch load needs recordsPerMessage`);
  return run.recordsPerMessage;
}

/**
 * Unreported calls the built-in generator makes first (streams: one stream of this many
 * messages): each run is a fresh Node process whose JIT is cold. ghz, compiled Go, needs none.
 * A stream is warmed with a quarter of its records, at most 10,000, whatever their grouping.
 */
function warmupFor(run: LoadRun): number {
  if (run.warmup !== undefined) return run.warmup;
  if (run.streamCallCount === undefined) return Math.min(1_000, Math.ceil(run.total / 4));
  const perMessage = recordsPerMessageOf(run);
  const records = Math.min(Math.ceil((run.streamCallCount * perMessage) / 4), 10_000);
  return Math.ceil(records / perMessage);
}

/**
 * Operations (calls, or records of a stream) the load tool sends before its measured ones: what
 * a figure taken around the whole tool run, rather than by the tool itself, also counts.
 */
export function warmupOperations(tool: LoadTool, run: LoadRun): number {
  if (tool === "ghz") return 0;
  const warmup = warmupFor(run);
  // The generator warms a stream up with one stream of at most `warmup` messages.
  return run.streamCallCount !== undefined
    ? Math.min(run.streamCallCount, warmup) * recordsPerMessageOf(run)
    : warmup;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The `ghz` executable on PATH, if any. */
export function findGhz(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "ghz");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Renders the run's config (placeholders filled, knobs set, proto paths made absolute) into
 * `dir` and runs it with ghz (`ghz --config … -O json`) or with the built-in generator in a child
 * process; both answer with a ghz JSON report.
 */
export async function runLoad(
  tool: LoadTool,
  dir: ConfigDir,
  run: LoadRun,
  watch: { readonly ghzPath: string | undefined; readonly serverPids: readonly number[] },
): Promise<GhzReport> {
  const shipped = readConfig(shippedConfigPath(run.config), run.placeholders);
  const config = isBatchConfig(run.config)
    ? withRecordsPerMessage(shipped, recordsPerMessageOf(run))
    : shipped;
  config.host = run.host;
  config.concurrency = run.concurrency;
  config.total = run.total;
  config.connections = Math.min(run.connections, run.concurrency);
  if (run.streamCallCount !== undefined) config["stream-call-count"] = run.streamCallCount;
  if (run.rps) config.rps = run.rps;
  if (config.proto) config.proto = resolve(repoRoot, config.proto);
  config["import-paths"] = config["import-paths"]?.map((p) => resolve(repoRoot, p));
  const path = dir.write(run.config, config);
  if (tool === "ghz") {
    // ghz makes no warm-up calls, so CPU used around its whole run is the run's.
    const before = cpuSnapshot(watch.serverPids);
    const report = await runForJson<GhzReport>(watch.ghzPath ?? "ghz", [
      "--config",
      path,
      "--format",
      "json",
    ]);
    const cpu =
      watch.serverPids.length > 0 ? cpuUsedBetween(before, cpuSnapshot(watch.serverPids)) : {};
    // ghz echoes the metadata, API key included, into its report; results files must not hold it.
    const { metadata: _, ...options } = report.options;
    return withBatchOption({ ...report, options, ...cpu }, run);
  }
  // The generator measures CPU itself, around its measured calls only (not its warm-up).
  const report = await runNodeForJson<GhzReport>("load-generator", [
    "--config",
    path,
    "--warmup",
    String(warmupFor(run)),
    ...(watch.serverPids.length > 0 ? ["--server-pids", watch.serverPids.join(",")] : []),
  ]);
  return withBatchOption(report, run);
}

/** A batch run's report names its records per message: its `count` and messages alone do not. */
function withBatchOption(report: GhzReport, run: LoadRun): GhzReport {
  if (!isBatchConfig(run.config)) return report;
  return {
    ...report,
    options: { ...report.options, "records-per-message": recordsPerMessageOf(run) },
  };
}
