import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { stopChild, trackChild } from "./child.js";

/** The real server, `node dist/src/main.js`, running in a child process. */
export interface ServerUnderTest {
  readonly pid: number;
  /** `127.0.0.1:<grpc port>` */
  readonly target: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** What the server under test is started with. */
export interface ServerOptions {
  readonly databaseUrl: string;
  /** Shared Redis for rate limits (replicas); unset: each process limits on its own. */
  readonly redisUrl?: string;
  /** Extra `node` flags, e.g. `--cpu-prof --cpu-prof-dir=prof` (BENCH_NODE_ARGS). */
  readonly nodeArgs: readonly string[];
  /** Environment overrides, e.g. a real rate limit for the shared-limit check. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A free TCP port on 127.0.0.1 (bound and released; the window for a clash is tiny). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts the compiled server as production runs it and resolves once `/readyz` answers 200
 * (migrations applied, database reachable). Rate limits are lifted far above anything the bench
 * can send, so the figures measure the service, not its limiter; logs are at `warn`.
 */
export async function startServer(options: ServerOptions): Promise<ServerUnderTest> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: String(grpcPort),
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: "warn",
    // The configuration's ceiling (10^8/s): no bench run comes near it.
    RATE_LIMIT_RECORDS_PER_SECOND: "100000000",
    RATE_LIMIT_BURST: "1000000000",
    SHUTDOWN_GRACE_MS: "0",
  };
  Object.assign(env, options.env);
  if (options.redisUrl) env.REDIS_URL = options.redisUrl;
  else delete env.REDIS_URL;
  const child = spawn(process.execPath, [...options.nodeArgs, "dist/src/main.js"], {
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  trackChild(child);
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`server exited with ${code} during start-up`))),
  );
  exited.catch(() => {});
  try {
    await Promise.race([waitReady(metricsPort), exited]);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return {
    pid: child.pid ?? 0,
    target: `127.0.0.1:${grpcPort}`,
    process: child,
    stop: () => stopChild(child),
  };
}

async function waitReady(metricsPort: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server not ready within 60 s");
}
