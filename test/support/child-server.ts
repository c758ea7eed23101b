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

/** A server process that may not get as far as binding its ports (see `launchServer`). */
export type LaunchedServer = Omit<ChildServer, "grpcPort" | "metricsPort">;

/**
 * Starts `node dist/src/main.js` (built by the suite's global setup) with `env` on top of the
 * test's environment and ephemeral ports, and resolves once it logs that it is ready (within
 * `timeoutMs` for each of "listening" and "ready"). A server that does not get there is killed.
 */
export async function spawnServer(
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<ChildServer> {
  const launched = launchServer(env);
  let listening: Record<string, unknown>;
  try {
    listening = await launched.waitForLog("listening", timeoutMs);
    await launched.waitForLog("ready", timeoutMs);
  } catch (err) {
    launched.process.kill("SIGKILL");
    await launched.exited;
    throw err;
  }
  return {
    ...launched,
    grpcPort: Number(listening.grpcPort),
    metricsPort: Number(listening.metricsPort),
  };
}

/**
 * Starts the server like `spawnServer` but returns at once, for tests of a server that must fail
 * at start-up. An `undefined` in `env` removes that variable from the child's environment.
 */
export function launchServer(env: Record<string, string | undefined>): LaunchedServer {
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
  return { process: child, logs, exited, waitForLog };
}
