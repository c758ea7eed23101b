import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { createDatabase } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { type ChildServer, spawnServer } from "../support/child-server.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { createTestDatabase, query, type TestDatabase } from "../support/database.js";
import { fixedSales } from "../support/fixtures.js";
import { auth } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

let db: TestDatabase;
let proxy: TcpProxy;
const keys: Record<string, string> = {};

const sales = fixedSales;

async function oneSale(prefix: string) {
  return ((await sales(prefix, 1).next()).value as IngestRequest).sale;
}

const connect = clientsClosedAtFileEnd();
const clientOf = (server: ChildServer) => connect(`http://127.0.0.1:${server.grpcPort}`);

/** Sales stored under a stream key, and how many distinct sale ids they cover. */
async function stored(streamKey: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await query<{ rows: string; distinct: string }>(
    db.url,
    "select count(*) as rows, count(distinct sale_id) as distinct from sales where starts_with(idempotency_key, $1)",
    [`${streamKey}/`],
  );
  return { rows: Number(row?.rows), distinct: Number(row?.distinct) };
}

/** Resends the whole stream with its key until one attempt succeeds, as a gateway would. */
async function sendUntilDone(
  server: () => ChildServer,
  streamKey: string,
  n: number,
  prefix: string,
) {
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      return {
        attempt,
        res: await clientOf(server()).ingestStream(
          sales(prefix, n),
          auth(keys.acme as string, streamKey),
        ),
      };
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code !== 14) throw err; // only UNAVAILABLE is retried
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error("stream never completed");
}

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = createDatabase({ kind: "postgres", url: db.url, poolMax: 2 });
  await migrateToLatest(setup.db);
  keys.acme = (await createApiKey(setup.db, "acme")).token;
  keys.flood = (await createApiKey(setup.db, "flood")).token;
  keys.quiet = (await createApiKey(setup.db, "quiet")).token;
  await setup.close();
  proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(db.url).port || 5432) });
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
});

function viaProxy(): string {
  const url = new URL(db.url);
  url.port = String(proxy.port);
  return url.toString();
}

// Each test starts a compiled server and pushes tens of thousands of records or a flood through it:
// seconds on a quiet machine, minutes on a loaded one. The budget is for the machine; the
// assertions are about counts and order.
describe("faults, against the compiled server in a child process", { timeout: 300_000 }, () => {
  it("Postgres unreachable mid-stream: UNAVAILABLE, the breaker opens and recovers, resends store each sale once", async () => {
    const server = await spawnServer({
      DATABASE_URL: viaProxy(),
      STREAM_BATCH_SIZE: "200",
      BREAKER_RESET_TIMEOUT_MS: "1000",
      BREAKER_VOLUME_THRESHOLD: "3",
      BREAKER_WINDOW_MS: "2000",
      HEALTH_DB_PING_INTERVAL_MS: "200",
      SHUTDOWN_GRACE_MS: "0",
    });
    try {
      const n = 20_000;
      const first = clientOf(server).ingestStream(
        sales("pgcut", n),
        auth(keys.acme as string, "pgcut"),
      );
      while ((await stored("pgcut")).rows < 2_000) await new Promise((r) => setTimeout(r, 20));
      proxy.cut();
      await expect(first).rejects.toMatchObject({ code: 14 });
      const partial = await stored("pgcut");
      // Calls while the database is away fail fast and precisely.
      await expect(
        clientOf(server).ingestStream(sales("pgcut", 10), auth(keys.acme as string, "pgcut")),
      ).rejects.toMatchObject({ code: 14 });
      setTimeout(() => proxy.heal(), 3_000);
      const { attempt, res } = await sendUntilDone(() => server, "pgcut", n, "pgcut");
      expect(attempt).toBeGreaterThan(1);
      expect(res.received).toBe(BigInt(n));
      expect(res.accepted + res.duplicate).toBe(BigInt(n));
      expect(res.duplicate).toBeGreaterThanOrEqual(BigInt(partial.rows));
      expect(await stored("pgcut")).toEqual({ rows: n, distinct: n });
      // The outage is logged once each way; the breaker's own transitions are at debug.
      await server.waitForLog("database available again");
      expect(server.logs.filter((l) => l.msg === "database unavailable")).toHaveLength(1);
      const back = server.logs.filter((l) => l.msg === "database available again");
      expect(back).toMatchObject([{ outageMs: expect.any(Number) }]);
      expect(server.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      proxy.heal();
      server.process.kill("SIGTERM");
      await server.exited;
    }
  });

  it("kill -9 during a stream, restart, resend: exactly once", async () => {
    const n = 30_000;
    let server = await spawnServer({ DATABASE_URL: db.url, STREAM_BATCH_SIZE: "500" });
    const first = clientOf(server).ingestStream(
      sales("kill9", n),
      auth(keys.acme as string, "kill9"),
    );
    while ((await stored("kill9")).rows < 3_000) await new Promise((r) => setTimeout(r, 20));
    server.process.kill("SIGKILL");
    await expect(first).rejects.toThrow();
    await server.exited;
    const partial = await stored("kill9");
    expect(partial.rows).toBeGreaterThanOrEqual(3_000);
    expect(partial.rows).toBeLessThan(n);

    server = await spawnServer({ DATABASE_URL: db.url });
    try {
      const res = await clientOf(server).ingestStream(
        sales("kill9", n),
        auth(keys.acme as string, "kill9"),
      );
      expect(res.duplicate).toBe(BigInt(partial.rows));
      expect(res.accepted).toBe(BigInt(n - partial.rows));
      expect(await stored("kill9")).toEqual({ rows: n, distinct: n });
    } finally {
      server.process.kill("SIGTERM");
      await server.exited;
    }
  });

  it("one tenant flooding does not starve another: the quiet tenant's p99 stays bounded", async () => {
    const server = await spawnServer({
      DATABASE_URL: db.url,
      // The flooding tenant gets 50 records/s, far below what its 50 callers send even on a slow
      // machine, so it is throttled to its own budget; the quiet tenant keeps the default.
      RATE_LIMIT_TENANT_OVERRIDES: JSON.stringify({ flood: { recordsPerSecond: 50, burst: 0 } }),
      SHUTDOWN_GRACE_MS: "0",
    });
    try {
      const client = clientOf(server);
      const p99 = async (label: string) => {
        const latencies: number[] = [];
        for (let i = 0; i < 150; i++) {
          const started = performance.now();
          await client.ingest(
            {
              sale: await oneSale(`${label}-${randomBytes(3).toString("hex")}`),
            },
            auth(keys.quiet as string),
          );
          latencies.push(performance.now() - started);
          await new Promise((r) => setTimeout(r, 5));
        }
        latencies.sort((a, b) => a - b);
        return latencies[Math.floor(latencies.length * 0.99)] as number;
      };
      const unloaded = await p99("quiet-alone");
      // The flood runs in a process of its own: measured in the same process, the quiet
      // tenant's latency would mostly be the flood's client work on the shared event loop.
      const body = toBinary(
        IngestRequestSchema,
        create(IngestRequestSchema, { sale: await oneSale("flood") }),
      );
      const flooder = spawn(
        process.execPath,
        [
          "test/support/flood.mjs",
          `127.0.0.1:${server.grpcPort}`,
          keys.flood as string,
          Buffer.from(body).toString("base64"),
          "50",
        ],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      let floodOutput = "";
      flooder.stdout?.on("data", (chunk) => {
        floodOutput += String(chunk);
      });
      const flooderExited = new Promise((resolve) => flooder.once("exit", resolve));
      await new Promise((r) => setTimeout(r, 1_000));
      const loaded = await p99("quiet-loaded");
      flooder.stdin?.end();
      await flooderExited;
      const flood = JSON.parse(floodOutput) as { calls: number; errors: number };
      process.stdout.write(
        `${JSON.stringify({ quietP99UnloadedMs: Math.round(unloaded), quietP99LoadedMs: Math.round(loaded), floodCalls: flood.calls, floodLimited: flood.errors })}\n`,
      );
      expect(flood.errors).toBeGreaterThan(0);
      // Reported figure, generous bound: the target (2x) is measured, not asserted on a shared CI box.
      expect(loaded).toBeLessThan(Math.max(10 * unloaded, 250));
    } finally {
      server.process.kill("SIGTERM");
      await server.exited;
    }
  });
});
