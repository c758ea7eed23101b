import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { readLogLine } from "./log-lines.js";

/** The compiled server running as a separate process, as production runs it. */
export interface ChildServer {
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly process: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves when the process exits, with its code and when it exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first log line whose `msg` equals `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/**
 * Starts `node dist/src/main.js` (built by the suite's global setup) with `env` on top of the
 * test's environment and ephemeral ports, and resolves once it logs that it is ready.
 */
export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    env: {
      ...process.env,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: "0",
      // Tests that are not about rate limits must not be slowed by the default budget.
      RATE_LIMIT_RECORDS_PER_SECOND: "100000000",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    // The server prints nothing but log lines on stdout, each held to strict JSON.
    const line = readLogLine(text, "child server");
    if (!line) return;
    logs.push(line);
    for (const w of waiters.filter((w) => w.msg === line.msg)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  const waitForLog = (msg: string, timeoutMs = 20_000) => {
    const seen = logs.find((l) => l.msg === msg);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        msg,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then(() => reject(new Error(`server exited before logging "${msg}"`)));
    });
  };
  const listening = await waitForLog("listening");
  await waitForLog("ready");
  return {
    grpcPort: Number(listening.grpcPort),
    metricsPort: Number(listening.metricsPort),
    process: child,
    logs,
    exited,
    waitForLog,
  };
}
