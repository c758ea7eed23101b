import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/key-service.js";
import type { Config } from "../../src/config/index.js";
import { bucketKey } from "../../src/resilience/bucket-keys.js";
import { createDatabase } from "../../src/storage/database.js";
import { type ChildServer, spawnServer } from "../support/child-server.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { makeSale } from "../support/fixtures.js";
import type { LogLine } from "../support/log-lines.js";
import { testLogger } from "../support/log-lines.js";
import { sampleValue } from "../support/prometheus-text.js";
import {
  type RedisCluster,
  type RedisSentinel,
  redisUnavailableReason,
  startRedisCluster,
  startRedisSentinel,
} from "../support/redis-cluster.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";
import { until } from "../support/wait.js";

// Rate limits on a real Redis Cluster (three masters started here) and through a real Sentinel.
// Without a Redis 7 redis-server and redis-cli on the PATH, the file is skipped, saying why.
const unavailable = await redisUnavailableReason();
if (unavailable !== undefined) {
  process.stderr.write(`rate-limit-cluster.test.ts: skipped, ${unavailable}\n`);
}

const connect = clientsClosedAtFileEnd();

async function outcome(call: Promise<unknown>): Promise<"OK" | ConnectError> {
  try {
    await call;
    return "OK";
  } catch (err) {
    return ConnectError.from(err);
  }
}

/** What a Redis error would say if one surfaced: a key outside the slot, or an unfollowed move. */
const SLOT_ERRORS = /CROSSSLOT|MOVED|ASK |TRYAGAIN/;

const backendOf = async (metricsPort: number, backend: string) =>
  sampleValue(
    await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    "rate_limiter_backend",
    { backend },
  );

/** The default limit of the in-process servers below. */
const testLimit = { recordsPerSecond: 100, burst: 0 };
/**
 * The limited tenants' budget: one record a second (and one burst point per 10 s), so a quick
 * run of calls is refused in part however slowly a loaded machine makes them.
 */
const slowLimit = { recordsPerSecond: 1, burst: 0 };

const clusterRedis = (cluster: RedisCluster): NonNullable<Config["rateLimit"]["redis"]> => ({
  kind: "cluster",
  nodes: cluster.nodes,
  username: undefined,
  password: undefined,
  tls: false,
});

describe.skipIf(unavailable !== undefined)("rate limits on a Redis Cluster", () => {
  let cluster: RedisCluster;
  let server: TestServer;
  const lines: LogLine[] = [];
  let slow: { id: string; key: string };

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    const slowId = `rlc-slow-${randomBytes(4).toString("hex")}`;
    server = await startTestServer({
      database: "postgres",
      logger: testLogger({ onLine: (line) => lines.push(line) }),
      config: {
        rateLimit: {
          ...testConfig().rateLimit,
          redis: clusterRedis(cluster),
          redisCommandTimeoutMs: 200,
          defaults: testLimit,
          tenants: { [slowId]: slowLimit },
        },
      },
    });
    const db = createDatabase({ kind: "postgres", url: server.databaseUrl as string, poolMax: 1 });
    slow = { id: slowId, key: (await createApiKey(db.db, slowId)).token };
    await db.close();
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  const metricsPort = async () => (await server.app.listening).metricsPort;
  const logged = (msg: string) => lines.filter((l) => l.msg === msg).length;

  describe("two replicas on one cluster", () => {
    let replicas: ChildServer[] = [];
    afterAll(async () => {
      for (const r of replicas) r.process.kill("SIGTERM");
      await Promise.all(replicas.map((r) => r.exited));
    });

    it("enforce one budget per tenant, both buckets in the tenant's slot, no slot errors", async () => {
      const id = `rlc-shared-${randomBytes(4).toString("hex")}`;
      const db = createDatabase({
        kind: "postgres",
        url: server.databaseUrl as string,
        poolMax: 1,
      });
      const key = (await createApiKey(db.db, id)).token;
      await db.close();
      const env = {
        DATABASE_URL: server.databaseUrl as string,
        // Seeds: one node is enough for ioredis to find the rest.
        REDIS_CLUSTER_NODES: cluster.nodes
          .slice(0, 2)
          .map((n) => `${n.host}:${n.port}`)
          .join(","),
        SHUTDOWN_GRACE_MS: "0",
        // As rate-limit.test.ts: ~41 calls pass in a short test if the budget is shared, ~82 if not.
        RATE_LIMIT_RECORDS_PER_SECOND: "1",
        RATE_LIMIT_BURST: "40",
      };
      replicas = await Promise.all([spawnServer(env), spawnServer(env)]);
      const clients = replicas.map((r) => connect(`http://127.0.0.1:${r.grpcPort}`));
      const codes = new Map<string, number>();
      const started = performance.now();
      for (let i = 0; i < 100; i++) {
        const client = clients[i % 2] as (typeof clients)[number];
        const r = await outcome(client.ingest({ sale: makeSale() }, auth(key)));
        const code = r === "OK" ? "OK" : Code[r.code];
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (r !== "OK") expect(r.rawMessage).not.toMatch(SLOT_ERRORS);
      }
      // Only answers of the limit itself: no call failed on Redis.
      expect([...codes.keys()].sort()).toEqual(["OK", "ResourceExhausted"]);
      const seconds = Math.ceil((performance.now() - started) / 1000);
      const ok = codes.get("OK") ?? 0;
      // Shared: the 40 burst points, plus one per second the run took (and one for a window
      // boundary). Separate budgets would pass twice that: 80 and more.
      expect(ok).toBeGreaterThanOrEqual(40);
      expect(ok).toBeLessThanOrEqual(Math.min(42 + seconds, 79));

      // Both replicas stayed on Redis throughout: any failed command (a CROSSSLOT among them)
      // would have switched one to its insurance and logged it.
      for (const r of replicas) {
        expect(await backendOf(r.metricsPort, "redis")).toBe(1);
        expect(r.logs.filter((l) => /redis unavailable/.test(String(l.msg)))).toEqual([]);
        expect(r.logs.filter((l) => SLOT_ERRORS.test(JSON.stringify(l)))).toEqual([]);
      }

      // The burst bucket (10 s) is still there: on the node that serves the tenant's slot only,
      // the slot the tenant id alone hashes to.
      const limit = { recordsPerSecond: 1, burst: 40 };
      const home = await cluster.nodeOf(bucketKey("burst", limit, id));
      expect(await cluster.nodeOf(bucketKey("rate", limit, id))).toBe(home);
      expect(await cluster.cli(0, "cluster", "keyslot", bucketKey("burst", limit, id))).toBe(
        await cluster.cli(0, "cluster", "keyslot", id),
      );
      const found = await Promise.all(cluster.nodes.map((_, i) => cluster.keys(i, `*{${id}}`)));
      expect(found[home]).toContain(bucketKey("burst", limit, id));
      found.forEach((keys, i) => {
        if (i !== home) expect(keys).toEqual([]);
      });
    });
  });

  it("answers from the insurance while a node is dead, and is back on Redis once it returns", async () => {
    const client = server.client();
    const call = () => outcome(client.ingest({ sale: makeSale() }, auth(slow.key)));
    expect(await call()).toBe("OK");
    expect(await backendOf(await metricsPort(), "redis")).toBe(1);
    const connectedBefore = logged("redis connected: rate limits are shared across replicas");

    const home = await cluster.nodeOf(bucketKey("rate", slowLimit, slow.id));
    // A tenant whose buckets live on another node, which stays up.
    let elsewhere = "";
    for (let i = 0; elsewhere === ""; i++) {
      const id = `rlc-other-${i}-${randomBytes(4).toString("hex")}`;
      if ((await cluster.nodeOf(bucketKey("rate", testLimit, id))) !== home) elsewhere = id;
    }
    const db = createDatabase({ kind: "postgres", url: server.databaseUrl as string, poolMax: 1 });
    const otherKey = (await createApiKey(db.db, elsewhere)).token;
    await db.close();
    const other = () => outcome(client.ingest({ sale: makeSale() }, auth(otherKey)));
    expect(await other()).toBe("OK");

    await cluster.kill(home);

    // The slow tenant's budget is 1 record/s: 20 quick calls are partly refused, all answered.
    // The other tenant's calls, in between, still reach Redis until the cluster marks the node
    // failed: a partial outage, which must not make the backend flap.
    let limited = 0;
    for (let i = 0; i < 20; i++) {
      const r = await call();
      if (r !== "OK") {
        expect(r.code).toBe(Code.ResourceExhausted);
        limited++;
      }
      expect(await other()).toBe("OK");
    }
    expect(limited).toBeGreaterThan(0);
    expect(await backendOf(await metricsPort(), "insurance")).toBe(1);

    // Once the other nodes mark it failed the whole cluster refuses (CLUSTERDOWN): still answered.
    await until(
      async () =>
        (await cluster.cli((home + 1) % 3, "cluster", "info")).includes("cluster_state:fail"),
      { timeoutMs: 60_000, what: "the cluster notices the dead node" },
    );
    for (let i = 0; i < 10; i++) {
      const r = await call();
      if (r !== "OK") expect(r.code).toBe(Code.ResourceExhausted);
    }
    // One line for the whole outage, however many calls failed over.
    expect(logged("redis unavailable: in-memory insurance limits in use")).toBe(1);

    await cluster.restart(home);
    // A cluster client stays "ready" through a node's death, so it is a call that finds Redis
    // back: keep calling until one is answered by Redis.
    await until(
      async () => {
        await call();
        return (await backendOf(await metricsPort(), "redis")) === 1;
      },
      { timeoutMs: 60_000, everyMs: 200, what: "the limiter is back on Redis" },
    );
    expect(logged("redis connected: rate limits are shared across replicas")).toBe(
      connectedBefore + 1,
    );
    // Limits are enforced on Redis again.
    let refused = 0;
    for (let i = 0; i < 12; i++) if ((await call()) !== "OK") refused++;
    expect(refused).toBeGreaterThan(0);
    expect(await backendOf(await metricsPort(), "redis")).toBe(1);
    expect(lines.filter((l) => SLOT_ERRORS.test(JSON.stringify(l)))).toEqual([]);
  });
});

describe.skipIf(unavailable !== undefined)("rate limits through Redis Sentinel", () => {
  let sentinel: RedisSentinel;
  let server: TestServer;
  const lines: LogLine[] = [];
  const id = `rls-${randomBytes(4).toString("hex")}`;
  let key: string;
  let rateLimit: Config["rateLimit"];

  beforeAll(async () => {
    sentinel = await startRedisSentinel("pos-ingest-test");
    rateLimit = {
      ...testConfig().rateLimit,
      redis: {
        kind: "sentinel",
        sentinels: [sentinel.sentinel],
        name: sentinel.name,
        username: undefined,
        password: undefined,
        sentinelPassword: undefined,
        tls: false,
      },
      redisCommandTimeoutMs: 200,
      defaults: testLimit,
      tenants: { [id]: slowLimit },
    };
    server = await startTestServer({
      database: "postgres",
      logger: testLogger({ onLine: (line) => lines.push(line) }),
      config: { rateLimit },
    });
    const db = createDatabase({ kind: "postgres", url: server.databaseUrl as string, poolMax: 1 });
    key = (await createApiKey(db.db, id)).token;
    await db.close();
  });
  afterAll(async () => {
    await server?.stop();
    await sentinel?.stop();
  });

  it("limits on the master the sentinel names", async () => {
    const metricsPort = (await server.app.listening).metricsPort;
    await until(async () => (await backendOf(metricsPort, "redis")) === 1, {
      timeoutMs: 30_000,
      what: "the limiter connects through the sentinel",
    });
    const client = server.client();
    const results: ("OK" | ConnectError)[] = [];
    for (let i = 0; i < 12; i++) {
      results.push(await outcome(client.ingest({ sale: makeSale() }, auth(key))));
    }
    const ok = results.filter((r) => r === "OK").length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThan(12);
    for (const r of results) if (r !== "OK") expect(r.code).toBe(Code.ResourceExhausted);
    expect(await backendOf(metricsPort, "redis")).toBe(1);
    // The bucket is on the master, which the server was never told of but by the sentinel.
    const limit = slowLimit;
    const stored = await sentinel.cli(
      sentinel.master,
      "exists",
      bucketKey("rate", limit, id),
      bucketKey("burst", limit, id),
    );
    expect(Number(stored)).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => /redis unavailable/.test(String(l.msg)))).toEqual([]);
  });

  it("reports no outage when the server itself stops", async () => {
    const own: LogLine[] = [];
    const other = await startTestServer({
      database: "postgres",
      logger: testLogger({ onLine: (line) => own.push(line) }),
      config: { rateLimit },
    });
    try {
      const metricsPort = (await other.app.listening).metricsPort;
      await until(async () => (await backendOf(metricsPort, "redis")) === 1, {
        timeoutMs: 30_000,
        what: "the second server connects through the sentinel",
      });
    } finally {
      await other.stop();
    }
    expect(own.filter((l) => /redis unavailable/.test(String(l.msg)))).toEqual([]);
  });

  it("answers from the insurance through a failover, then limits on the new master", async () => {
    const metricsPort = (await server.app.listening).metricsPort;
    const client = server.client();
    const call = () => outcome(client.ingest({ sale: makeSale() }, auth(key)));
    const logged = (msg: string) => lines.filter((l) => l.msg === msg).length;
    const connectedBefore = logged("redis connected: rate limits are shared across replicas");

    await sentinel.killMaster();
    // Every call is answered by the limit itself while there is no master.
    for (let i = 0; i < 10; i++) {
      const r = await call();
      if (r !== "OK") expect(r.code).toBe(Code.ResourceExhausted);
    }
    expect(await backendOf(metricsPort, "insurance")).toBe(1);

    await until(async () => (await sentinel.currentMaster()).port === sentinel.replica.port, {
      timeoutMs: 60_000,
      everyMs: 200,
      what: "the sentinel promotes the replica",
    });
    await until(
      async () => {
        await call();
        return (await backendOf(metricsPort, "redis")) === 1;
      },
      { timeoutMs: 60_000, everyMs: 200, what: "the limiter is on the new master" },
    );
    expect(logged("redis unavailable: in-memory insurance limits in use")).toBe(1);
    expect(logged("redis connected: rate limits are shared across replicas")).toBe(
      connectedBefore + 1,
    );
    let refused = 0;
    for (let i = 0; i < 12; i++) if ((await call()) !== "OK") refused++;
    expect(refused).toBeGreaterThan(0);
    const limit = slowLimit;
    const stored = await sentinel.cli(
      sentinel.replica,
      "exists",
      bucketKey("rate", limit, id),
      bucketKey("burst", limit, id),
    );
    expect(Number(stored)).toBeGreaterThanOrEqual(1);
  });
});
