import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onInterrupt } from "./cleanup.js";

/**
 * The fields of a ghz JSON config (`ghz --config`) that the bench uses. Both ghz and the built-in
 * generator read the same file, so a run means the same thing whichever tool drives it.
 */
export interface GhzConfig {
  name?: string;
  host: string;
  call: string;
  proto?: string;
  "import-paths"?: string[];
  insecure?: boolean;
  total?: number;
  concurrency?: number;
  connections?: number;
  /** Requests per second over all workers; 0 or absent: unbounded. */
  rps?: number;
  /** Go duration (`30s`, `2m`); when set, `total` is ignored. */
  duration?: string;
  /** Go duration per call; `0s` means none. */
  timeout?: string;
  "stream-call-count"?: number;
  metadata?: Record<string, string>;
  data: unknown;
}

/** The configs shipped in bench/ghz/. */
export type ConfigName =
  | "unary"
  | "unary-dedup"
  | "stream"
  | "unary-v2"
  | "stream-v2"
  | "stream-batch"
  | "stream-batch-v2";

/** The configs of IngestBatchStream, whose messages carry many records each. */
export function isBatchConfig(name: ConfigName): boolean {
  return name === "stream-batch" || name === "stream-batch-v2";
}

/** Values for the `${name}` placeholders the runner fills before ghz's per-call templates run. */
export type Placeholders = Readonly<Record<string, string | number>>;

/** Path of a shipped config (bench/ghz/<name>.json in the repository, next to this source). */
export function shippedConfigPath(name: ConfigName): string {
  // Compiled to dist/bench/, read from the repository's bench/ghz/.
  return fileURLToPath(new URL(`../../bench/ghz/${name}.json`, import.meta.url));
}

/**
 * Reads a ghz config and fills its `${name}` placeholders (API key, run id, key count). They use
 * `${…}` rather than `{{…}}` so they cannot be mistaken for ghz's own per-call template actions,
 * which are left for the load tool to render per call. An unfilled placeholder throws.
 */
export function readConfig(path: string, placeholders: Placeholders): GhzConfig {
  const text = readFileSync(path, "utf8").replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    const value = placeholders[name];
    if (value === undefined)
      throw new Error(`${path}: no value for ${whole} (by hand: --var ${name}=…)`);
    return String(value);
  });
  return JSON.parse(text) as GhzConfig;
}

/**
 * A batch config (`data.records`, one record in the shipped file) with that record repeated to
 * `recordsPerMessage` per message. Done here rather than in the file so one config serves every
 * message size, and the file stays a readable sale rather than 500 copies of it; every copy is
 * the same bytes, and the server keys each by its position in the stream (`<key>/<i>`).
 */
export function withRecordsPerMessage(config: GhzConfig, recordsPerMessage: number): GhzConfig {
  if (!Number.isInteger(recordsPerMessage) || recordsPerMessage < 1)
    throw new Error(`records per message must be a positive integer, got ${recordsPerMessage}`);
  const data = config.data as { records?: unknown } | undefined;
  const records = data?.records;
  if (!Array.isArray(records) || records.length !== 1)
    throw new Error(`${config.call}: a batch config's data.records must hold exactly one record`);
  return {
    ...config,
    data: { ...data, records: Array.from({ length: recordsPerMessage }, () => records[0]) },
  };
}

/** Parses a Go duration such as `20s`, `1m30s` or `250ms` into milliseconds. */
export function durationMs(text: string | undefined): number {
  if (!text) return 0;
  let ms = 0;
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, unit: string) => {
    ms += Number(n) * (units[unit] ?? 0);
    return "";
  });
  if (rest !== "" && rest !== "0") throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/** A directory for the run's rendered configs, removed by `dispose`. */
export interface ConfigDir {
  write(name: string, config: GhzConfig): string;
  dispose(): void;
}

/** Creates a temporary directory for rendered configs (they hold the run's API key). */
export function createConfigDir(): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), "pos-bench-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const forget = onInterrupt(remove);
  let n = 0;
  return {
    write(name, config) {
      const path = join(dir, `${String(n++).padStart(3, "0")}-${name}.json`);
      writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
      return path;
    },
    dispose() {
      forget();
      remove();
    },
  };
}
