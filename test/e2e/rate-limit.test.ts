import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { createDatabase } from "../../src/storage/database.js";
import { type ChildServer, spawnServer } from "../support/child-server.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { sampleValue } from "../support/prometheus-text.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { eventually } from "../support/wait.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = new URL(REDIS_URL);
const connect = clientsClosedAtFileEnd();

/** A tenant no other test (or earlier run) has used, so its Redis budget starts full. */
async function newTenant(
  databaseUrl: string,
  prefix: string,
): Promise<{ id: string; key: string }> {
  const id = `${prefix}-${randomBytes(4).toString("hex")}`;
  const db = createDatabase({ kind: "postgres", url: databaseUrl, poolMax: 1 });
  try {
    return { id, key: (await createApiKey(db.db, id)).token };
  } finally {
    await db.close();
  }
}

async function outcome(call: Promise<unknown>): Promise<"OK" | ConnectError> {
  try {
    await call;
    return "OK";
  } catch (err) {
    return ConnectError.from(err);
  }
}

function retryDelayMs(err: ConnectError): number {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
}

let proxy: TcpProxy;
let server: TestServer;
let slow: { id: string; key: string };
let fast: { id: string; key: string };

beforeAll(async () => {
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  // Tenants are named after the server is up (their ids go into the limit overrides), so the
  // server is started with a placeholder and the overrides point at ids made just before.
  const ids = {
    slow: `rl-slow-${randomBytes(4).toString("hex")}`,
    fast: `rl-fast-${randomBytes(4).toString("hex")}`,
  };
  server = await startTestServer({
    database: "postgres",
    config: {
      batching: { streamBatchSize: 50, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      rateLimit: {
        ...testConfig().rateLimit,
        redis: { kind: "standalone", url: `redis://127.0.0.1:${proxy.port}` },
        redisCommandTimeoutMs: 200,
        defaults: { recordsPerSecond: 100, burst: 0 },
        tenants: {
          [ids.slow]: { recordsPerSecond: 5, burst: 0 },
          [ids.fast]: { recordsPerSecond: 1_000, burst: 0 },
        },
        maxStreamWaitMs: 1_500,
      },
    },
  });
  const db = createDatabase({
    kind: "postgres",
    url: server.databaseUrl as string,
    poolMax: 1,
  });
  slow = { id: ids.slow, key: (await createApiKey(db.db, ids.slow)).token };
  fast = { id: ids.fast, key: (await createApiKey(db.db, ids.fast)).token };
  await db.close();
});
afterAll(async () => {
  await server?.stop();
  await proxy?.close();
});

const metrics = async () =>
  (await fetch(`http://127.0.0.1:${(await server.app.listening).metricsPort}/metrics`)).text();

describe("per-tenant rate limits (Redis)", () => {
  it("answers RESOURCE_EXHAUSTED with the delay until points return, per tenant", async () => {
    const client = server.client();
    const results = [];
    for (let i = 0; i < 12; i++)
      results.push(await outcome(client.ingest({ sale: makeSale() }, auth(slow.key))));
    const ok = results.filter((r) => r === "OK").length;
    // 5 per second plus 1 burst point; a window boundary inside the loop can add one second's worth.
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(ok).toBeLessThanOrEqual(11);
    const limited = results.filter((r): r is ConnectError => r !== "OK");
    expect(limited.length).toBeGreaterThan(0);
    for (const err of limited) {
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(retryDelayMs(err)).toBeGreaterThan(0);
      expect(retryDelayMs(err)).toBeLessThanOrEqual(1_000);
      expect(Number(err.metadata.get("grpc-retry-pushback-ms"))).toBeGreaterThan(0);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
    }
    // Another tenant's budget is untouched.
    expect(await outcome(client.ingest({ sale: makeSale() }, auth(fast.key)))).toBe("OK");
    expect(sampleValue(await metrics(), "rate_limited_total", { tenant: slow.id })).toBe(
      limited.length,
    );
    expect(sampleValue(await metrics(), "rate_limiter_backend", { backend: "redis" })).toBe(1);
  });

  it("slows a stream down to the tenant's rate rather than refusing it", async () => {
    const tenant = await newTenant(server.databaseUrl as string, "rl-stream");
    // Default budget: 100 records/s. 180 records need about a second of waiting.
    async function* records() {
      for (let i = 0; i < 180; i++) yield create(IngestRequestSchema, { sale: makeSale() });
    }
    const started = performance.now();
    const res = await server.client().ingestStream(records(), auth(tenant.key, "rl-slowed"));
    expect(res).toMatchObject({ received: 180n, accepted: 180n });
    expect(performance.now() - started).toBeGreaterThan(500);
  });

  it("ends a stream that would wait too long, reporting what it committed", async () => {
    // A replica that never holds a stream back: 60 records/s, batches of 50, no waiting.
    const strict = await startTestServer({
      database: "postgres",
      config: {
        batching: { streamBatchSize: 50, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
        rateLimit: {
          ...testConfig().rateLimit,
          redis: { kind: "standalone", url: REDIS_URL },
          defaults: { recordsPerSecond: 60, burst: 0 },
          maxStreamWaitMs: 0,
        },
      },
    });
    const tenant = await newTenant(strict.databaseUrl as string, "rl-end");
    async function* records() {
      for (let i = 0; i < 2_000; i++) yield create(IngestRequestSchema, { sale: makeSale() });
    }
    const err = await outcome(
      strict.client().ingestStream(records(), auth(tenant.key, "rl-ended")),
    );
    const [row] = await query<{ n: string }>(
      strict.databaseUrl as string,
      "select count(*) as n from sales where tenant_id = $1",
      [tenant.id],
    );
    await strict.stop();
    expect(err).not.toBe("OK");
    const e = err as ConnectError;
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(retryDelayMs(e)).toBeGreaterThan(0);
    const info = e.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("RATE_LIMITED");
    const committed = Number(info?.metadata.accepted);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(2_000);
    expect(Number(row?.n)).toBe(committed);
  });

  it("keeps limiting, without hanging, while Redis is unreachable, and goes back to Redis after", async () => {
    const client = server.client();
    proxy.cut();
    let limited = 0;
    // The slow tenant's budget is 5 records/s: 20 quick calls must be partly refused.
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const r = await outcome(client.ingest({ sale: makeSale() }, auth(slow.key)));
      // No call waits on the reconnecting Redis client: bounded well under a second.
      expect(performance.now() - started).toBeLessThan(1_000);
      if (r !== "OK") {
        expect(r.code).toBe(Code.ResourceExhausted);
        limited++;
      }
    }
    // The in-memory insurance limiter enforced the same budget.
    expect(limited).toBeGreaterThan(0);
    expect(sampleValue(await metrics(), "rate_limiter_backend", { backend: "insurance" })).toBe(1);
    proxy.heal();
    const backend = () =>
      metrics().then((m) => sampleValue(m, "rate_limiter_backend", { backend: "redis" }));
    expect(await eventually(backend, 1, 10_000)).toBe(1);
  });
});

describe("a server started while Redis is unreachable", () => {
  it("limits on the insurance from the start, and moves to Redis once it is reachable", async () => {
    const down = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    down.cut();
    const late = await startTestServer({
      database: "postgres",
      config: {
        rateLimit: {
          ...testConfig().rateLimit,
          redis: { kind: "standalone", url: `redis://127.0.0.1:${down.port}` },
          redisCommandTimeoutMs: 200,
        },
      },
    });
    try {
      const scrape = async (backend: string) => {
        const port = (await late.app.listening).metricsPort;
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return sampleValue(text, "rate_limiter_backend", { backend });
      };
      // Ready without Redis: calls are limited in memory, not refused or held.
      const client = late.client();
      await client.ingest({ sale: makeSale() }, auth(late.keys.acme));
      expect(await scrape("insurance")).toBe(1);
      down.heal();
      expect(await eventually(() => scrape("redis"), 1, 10_000)).toBe(1);
    } finally {
      await late.stop();
      await down.close();
    }
  });
});

describe("two replicas, one Redis", () => {
  let replicas: ChildServer[] = [];
  afterAll(async () => {
    for (const r of replicas) r.process.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
  });

  it("enforce one budget per tenant between them", async () => {
    const tenant = await newTenant(server.databaseUrl as string, "rl-shared");
    const env = {
      DATABASE_URL: server.databaseUrl as string,
      REDIS_URL,
      SHUTDOWN_GRACE_MS: "0",
      // 1 record/s sustained plus 40 per 10 s burst: about 41 calls pass in a short test, shared.
      RATE_LIMIT_RECORDS_PER_SECOND: "1",
      RATE_LIMIT_BURST: "40",
    };
    replicas = await Promise.all([spawnServer(env), spawnServer(env)]);
    const clients = replicas.map((r) => connect(`http://127.0.0.1:${r.grpcPort}`));
    let ok = 0;
    for (let i = 0; i < 100; i++) {
      const client = clients[i % 2] as (typeof clients)[number];
      if ((await outcome(client.ingest({ sale: makeSale() }, auth(tenant.key)))) === "OK") ok++;
    }
    // One shared budget: ~41 (plus a point per second of test). Two separate ones would pass ~82.
    expect(ok).toBeGreaterThanOrEqual(40);
    expect(ok).toBeLessThanOrEqual(50);
  });
});
