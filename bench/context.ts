import type { ConfigDir } from "./ghz-config.js";
import { type LoadRun, type LoadTool, runLoad } from "./load-runner.js";
import type { Measurement } from "./measurement.js";
import type { BenchOptions } from "./options.js";
import type { GhzReport } from "./report.js";

/** One line of the results table. */
export interface ResultRow {
  readonly section: "transport ceiling" | "storage ceiling" | "service";
  readonly name: string;
  readonly measurement?: Measurement;
  /** Service rate ÷ the bare grpc-js server's rate for the same load. */
  readonly vsTransport?: number;
  /** Service p99 ÷ the bare grpc-js server's p99 for the same load. */
  readonly p99VsTransport?: number;
  /** Service rate ÷ raw Postgres' rate (single-row for unary, best batch for streams). */
  readonly vsStorage?: number;
  /** A verdict or a figure that does not fit the columns. */
  readonly note?: string;
}

/** What every scenario gets: the options, the load tool, and where results go. */
export interface BenchContext {
  readonly options: BenchOptions;
  readonly tool: LoadTool;
  /**
   * Runs one load (ghz or the built-in generator) and keeps its report under `name`; with
   * `serverPids`, the report also gets the CPU time those processes and the local PostgreSQL
   * server used meanwhile.
   */
  load(name: string, run: LoadRun, serverPids?: readonly number[]): Promise<GhzReport>;
  /** Adds a line to the results table. */
  row(row: ResultRow): void;
  /** Keeps structured detail (checks, RSS samples) for the JSON result file. */
  detail(name: string, value: unknown): void;
  progress(message: string): void;
}

/** Everything a run collected, for the table and the JSON file. */
export interface Collected {
  readonly rows: ResultRow[];
  readonly reports: Record<string, GhzReport>;
  readonly details: Record<string, unknown>;
}

/** Builds the context and the store it fills. */
export function createContext(
  options: BenchOptions,
  tool: LoadTool,
  ghzPath: string | undefined,
  dir: ConfigDir,
): { context: BenchContext; collected: Collected } {
  const collected: Collected = { rows: [], reports: {}, details: {} };
  const started = performance.now();
  const context: BenchContext = {
    options,
    tool,
    async load(name, run, serverPids = []) {
      const report = await runLoad(tool, dir, run, { ghzPath, serverPids });
      collected.reports[name] = report;
      return report;
    },
    row: (row) => {
      collected.rows.push(row);
    },
    detail: (name, value) => {
      collected.details[name] = value;
    },
    progress(message) {
      const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
      process.stderr.write(`[${at}s] ${message}\n`);
    },
  };
  return { context, collected };
}
