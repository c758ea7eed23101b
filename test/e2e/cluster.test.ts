import { type AddressInfo, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { createDatabase } from "../../src/storage/database.js";
import { type ChildServer, launchServer, spawnServer } from "../support/child-server.js";
import { connectIngest } from "../support/connect-client.js";
import { createTestDatabase, query, type TestDatabase } from "../support/database.js";
import { fixedSales, makeSale } from "../support/fixtures.js";
import { healthProbe } from "../support/health-client.js";
import { sampleValue } from "../support/prometheus-text.js";
import { auth } from "../support/server.js";
import { until } from "../support/wait.js";

// WORKERS=2 on real Postgres: the built server as production runs it, a primary and two
// workers on one gRPC port. The cases run in order against one cluster; the last stops it.

let db: TestDatabase;
let server: ChildServer;
let apiKey: string;

const scrape = async (): Promise<string> =>
  (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();

/** Runs `work` on a connection of its own, closed after: a new connection is a new worker pick. */
async function onNewConnection<T>(
  work: (client: ReturnType<typeof connectIngest>["client"]) => Promise<T>,
): Promise<T> {
  const c = connectIngest(`http://127.0.0.1:${server.grpcPort}`, { label: "cluster test" });
  try {
    return await work(c.client);
  } finally {
    c.close();
  }
}

/** Records accepted, summed over tenants and sources, as the sidecar reports them. */
const accepted = async (): Promise<number> => {
  let sum = 0;
  for (const m of (await scrape()).matchAll(
    /^ingest_records_total\{[^}]*outcome="accepted"[^}]*\} (\S+)$/gm,
  )) {
    sum += Number(m[1]);
  }
  return sum;
};

async function healthOverConnections(n: number): Promise<(string | number)[]> {
  const statuses: (string | number)[] = [];
  for (let i = 0; i < n; i++) {
    const probe = healthProbe(server.grpcPort);
    try {
      statuses.push(await probe.check(""), await probe.check("readiness"));
    } finally {
      probe.close();
    }
  }
  return statuses;
}

const workerLines = (msg: string) => server.logs.filter((l) => l.msg === msg);

/** Waits until the calls logged from line `from` on came from exactly `workers`. */
async function callsServedBy(from: number, workers: number[]): Promise<void> {
  const servedBy = () =>
    [...new Set(server.logs.slice(from).flatMap((l) => (l.msg === "call" ? [l.worker] : [])))]
      .map(Number)
      .sort();
  await until(() => servedBy().join() === workers.join(), {
    what: () => `calls served by workers ${servedBy().join()}, not ${workers.join()}`,
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  // An empty database: both workers migrate it at once, which Kysely's advisory lock serialises.
  server = await spawnServer({ DATABASE_URL: db.url, WORKERS: "2", SHUTDOWN_GRACE_MS: "200" });
  await server.waitForLog("cluster ready");
  const setup = createDatabase({ kind: "postgres", url: db.url, poolMax: 1 });
  apiKey = (await createApiKey(setup.db, "acme")).token;
  await setup.close();
}, 60_000);
afterAll(async () => {
  if (server && server.process.exitCode === null) {
    server.process.kill("SIGKILL");
    await server.exited;
  }
  await db?.drop();
});

describe("WORKERS=2: two server processes on one port", { timeout: 120_000 }, () => {
  it("forks two workers that share one random port and logs with their ids", () => {
    const listening = workerLines("listening");
    expect(listening.map((l) => l.worker).sort()).toEqual([1, 2]);
    expect(new Set(listening.map((l) => l.grpcPort))).toEqual(new Set([server.grpcPort]));
    expect(new Set(listening.map((l) => l.metricsPort))).toEqual(new Set([server.metricsPort]));
    // The schema was migrated once, by whichever worker took the lock first.
    const migrated = workerLines("migration").map((l) => l.migration);
    expect(new Set(migrated).size).toBe(migrated.length);
  });

  it("answers SERVING on every connection, and /readyz on the one sidecar", async () => {
    const statuses = await healthOverConnections(4);
    expect(statuses).toEqual(Array(8).fill("SERVING"));
    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`)).status).toBe(200);
  });

  it("stores concurrent repeats of a key over many connections once, ACCEPTED once", async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `cluster-unary-${i}`);
    const sales = new Map(keys.map((k) => [k, makeSale()]));
    const before = await accepted();
    const logsBefore = server.logs.length;
    const results = await Promise.all(
      keys.flatMap((key) =>
        Array.from({ length: 4 }, () =>
          onNewConnection((client) =>
            client.ingest({ sale: sales.get(key) }, auth(apiKey, key)).then((r) => ({ key, r })),
          ),
        ),
      ),
    );
    for (const key of keys) {
      const mine = results.filter((x) => x.key === key).map((x) => x.r);
      expect(
        mine.filter((r) => r.outcome === Outcome.ACCEPTED),
        key,
      ).toHaveLength(1);
      expect(
        mine.filter((r) => r.outcome === Outcome.DUPLICATE),
        key,
      ).toHaveLength(3);
      expect(new Set(mine.map((r) => r.recordId)).size).toBe(1);
    }
    const rows = await query<{ key: string; n: string }>(
      db.url,
      "select idempotency_key as key, count(*) as n from sales where starts_with(idempotency_key, 'cluster-unary-') group by 1",
    );
    expect(rows).toHaveLength(keys.length);
    expect(rows.every((r) => r.n === "1")).toBe(true);
    // Both workers took calls, and the sidecar sums both workers' counters.
    await callsServedBy(logsBefore, [1, 2]);
    expect((await accepted()) - before).toBe(keys.length);
  });

  it("answers a resent stream with duplicates, on another connection", async () => {
    const first = await onNewConnection((c) =>
      c.ingestStream(fixedSales("cluster-stream", 300), auth(apiKey, "cluster-stream")),
    );
    const again = await onNewConnection((c) =>
      c.ingestStream(fixedSales("cluster-stream", 300), auth(apiKey, "cluster-stream")),
    );
    expect(first).toMatchObject({ received: 300n, accepted: 300n, duplicate: 0n });
    expect(again).toMatchObject({ received: 300n, accepted: 0n, duplicate: 300n });
    const [row] = await query<{ n: string }>(
      db.url,
      "select count(*) as n from sales where starts_with(idempotency_key, 'cluster-stream/')",
    );
    expect(row?.n).toBe("300");
  });

  it("replaces a worker killed with SIGKILL; the port and the sidecar keep answering", async () => {
    const victim = workerLines("worker forked").find((l) => l.worker === 1);
    process.kill(Number(victim?.pid), "SIGKILL");
    const died = await server.waitForLog("worker died; replacing it");
    expect(died).toMatchObject({ worker: 1, signal: "SIGKILL" });
    await until(() => workerLines("ready").some((l) => l.worker === 3), {
      what: "the replacement worker 3 ready",
    });
    await until(async () => (await healthOverConnections(2)).every((s) => s === "SERVING"), {
      what: "the cluster SERVING again",
    });
    const text = await scrape();
    expect(sampleValue(text, "cluster_worker_restarts_total")).toBe(1);
    expect(sampleValue(text, "cluster_workers", { state: "running" })).toBe(2);

    // New calls over new connections reach the survivor and the replacement; the sidecar sums
    // both (the dead worker's own counts went with it).
    const before = await accepted();
    const logsBefore = server.logs.length;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        onNewConnection((c) => c.ingest({ sale: makeSale() }, auth(apiKey, `cluster-after-${i}`))),
      ),
    );
    expect(results.every((r) => r.outcome === Outcome.ACCEPTED)).toBe(true);
    await callsServedBy(logsBefore, [2, 3]);
    expect((await accepted()) - before).toBe(8);
  });

  it("drains every worker on SIGTERM and exits 0", async () => {
    server.process.kill("SIGTERM");
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    const stopped = workerLines("stopped cleanly").map((l) => l.worker);
    expect(stopped.sort()).toEqual([2, 3]);
    // Its last line may still be in the pipe when the exit is seen.
    await until(() => server.logs.some((l) => l.msg === "cluster stopped"));
    expect(server.logs.at(-1)).toMatchObject({ msg: "cluster stopped", how: "clean" });
  });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("WORKERS=2: failing and forced stops", { timeout: 120_000 }, () => {
  it("exits 1 when a worker cannot start (the port is taken), as a single process does", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = squatter.address() as AddressInfo;
      const launched = launchServer({
        DATABASE_URL: db.url,
        WORKERS: "2",
        GRPC_PORT: String(port),
      });
      const exit = await launched.exited;
      expect(exit.code).toBe(1);
      expect(launched.logs.some((l) => l.msg === "cluster ready")).toBe(false);
      expect(launched.logs.some((l) => l.msg === "worker died; replacing it")).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("exits 1 at once on a second signal, killing the workers mid-drain", async () => {
    const cluster = await spawnServer({
      DATABASE_URL: db.url,
      WORKERS: "2",
      // A drain that would take a minute: only the second signal ends it sooner.
      SHUTDOWN_GRACE_MS: "60000",
      SHUTDOWN_BUDGET_MS: "120000",
    });
    await cluster.waitForLog("cluster ready");
    const pids = cluster.logs.filter((l) => l.msg === "worker forked").map((l) => Number(l.pid));
    expect(pids).toHaveLength(2);
    cluster.process.kill("SIGTERM");
    await until(() =>
      cluster.logs.some((l) => l.msg === "shutting down" && l.worker === undefined),
    );
    const second = performance.now();
    cluster.process.kill("SIGTERM");
    const exit = await cluster.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(10_000);
    await until(() => pids.every((pid) => !alive(pid)), { what: "the workers killed" });
  });
});
