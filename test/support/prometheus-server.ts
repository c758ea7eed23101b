import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./wait.js";

/** One sample of an instant query's vector result. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** A real Prometheus server scraping one target every second, in a temporary directory. */
export interface PrometheusServer {
  /** Evaluates PromQL at `time` (seconds, as Prometheus wrote it) or now; throws on errors. */
  query(promql: string, time?: string): Promise<PromSample[]>;
  /** `query` for a PromQL expression Prometheus answers with a single number, e.g. timestamp(up). */
  queryOne(promql: string, time?: string): Promise<{ value: number; raw: string } | undefined>;
  /** What the server printed, for a failure message. */
  log(): string;
  stop(): Promise<void>;
}

const JOB = "pos-ingest";

/**
 * Starts Debian's `prometheus` (the package .ci/run installs) on a free port, scraping `target`
 * (host:port) every second, and waits until the target is up.
 */
export async function startPrometheus(target: string): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "pos-ingest-prometheus-"));
  writeFileSync(
    join(dir, "prometheus.yml"),
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      `  - job_name: ${JOB}`,
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });
  const base = `http://127.0.0.1:${port}`;

  const api = async (path: string, params: Record<string, string> = {}): Promise<unknown> => {
    const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data?: unknown; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const query = async (promql: string, time?: string): Promise<PromSample[]> => {
    const data = (await api("/api/v1/query", { query: promql, ...(time && { time }) })) as {
      resultType: string;
      result: Array<{ metric: Record<string, string>; value: [number, string] }>;
    };
    if (data.resultType !== "vector") throw new Error(`${promql}: ${data.resultType}`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await until(
      async () => {
        if (spawnError) throw new Error(`prometheus not started: ${spawnError.message}`);
        if (child.exitCode !== null) throw new Error(`prometheus exited:\n${output}`);
        const data = (await api("/api/v1/targets").catch(() => undefined)) as
          | { activeTargets: Array<{ health: string }> }
          | undefined;
        return data?.activeTargets[0]?.health === "up";
      },
      { timeoutMs: 60_000, everyMs: 100, what: "Prometheus has scraped the target" },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    query,
    async queryOne(promql, time) {
      const data = (await api("/api/v1/query", { query: promql, ...(time && { time }) })) as {
        result: Array<{ value: [number, string] }>;
      };
      const sample = data.result[0];
      return sample && { value: Number(sample.value[1]), raw: sample.value[1] };
    },
    log: () => output,
    stop,
  };
}

/**
 * The time (seconds, as Prometheus wrote it) of the first successful scrape of the target that
 * started after `afterMs`: every sample of that scrape carries it, so a query evaluated at it sees exactly
 * the values of that scrape and no extrapolation past its end.
 */
export async function scrapeAfter(prometheus: PrometheusServer, afterMs: number): Promise<string> {
  let raw = "";
  await until(
    async () => {
      const latest = await prometheus.queryOne(`timestamp(up{job="${JOB}"})`);
      if (!latest || latest.value * 1000 <= afterMs) return false;
      // A failed scrape (a loaded machine can time one out) stores no samples: wait for a good one.
      if ((await prometheus.queryOne(`up{job="${JOB}"}`, latest.raw))?.value !== 1) return false;
      raw = latest.raw;
      return true;
    },
    { timeoutMs: 60_000, everyMs: 100, what: "a scrape after the traffic" },
  );
  return raw;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
