import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type App, createApp } from "../../src/app.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { HEALTH_SERVICES } from "../../src/health/health-model.js";
import { createDatabase } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { type HealthProbe, healthProbe } from "../support/health-client.js";
import { testLogger } from "../support/log-lines.js";
import { auth, testConfig } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { eventually } from "../support/wait.js";

let db: TestDatabase;
let proxy: TcpProxy;
let app: App;
let probe: HealthProbe;
let apiKey: string;
let grpcPort: number;
let metricsPort: number;
let started: Promise<unknown>;

const names = Object.values(HEALTH_SERVICES);
const statuses = async () =>
  Object.fromEntries(await Promise.all(names.map(async (n) => [n, await probe.check(n)])));
const http = async (path: string) => (await fetch(`http://127.0.0.1:${metricsPort}${path}`)).status;
const connect = clientsClosedAtFileEnd();
const client = () => connect(`http://127.0.0.1:${grpcPort}`);

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = createDatabase({ kind: "postgres", url: db.url, poolMax: 2 });
  await migrateToLatest(setup.db);
  apiKey = (await createApiKey(setup.db, "acme")).token;
  await setup.close();

  // The app reaches Postgres only through this proxy, so the test can take the database away.
  proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(db.url).port || 5432) });
  proxy.cut();
  const url = new URL(db.url);
  url.port = String(proxy.port);
  app = createApp(
    testConfig({
      database: { kind: "postgres", url: url.toString(), poolMax: 4 },
      health: { dbPingIntervalMs: 100, dbPingTimeoutMs: 300, maxEventLoopDelayMs: 5000 },
      shutdown: { graceMs: 800, deadlineMs: 2000 },
    }),
    testLogger(),
  );
  started = app.start();
  ({ grpcPort, metricsPort } = await app.listening);
  probe = healthProbe(grpcPort);
});

afterAll(async () => {
  probe?.close();
  await app?.stop();
  await proxy?.close();
  await db?.drop();
});

describe("health through the service's life", () => {
  it("starting (database unreachable): alive, not started, not ready; calls get UNAVAILABLE", async () => {
    expect(await statuses()).toEqual({
      liveness: "SERVING",
      startup: "NOT_SERVING",
      readiness: "NOT_SERVING",
      "": "NOT_SERVING",
      "pos.ingest.v1.IngestService": "NOT_SERVING",
      "pos.ingest.v1.ReconcileService": "NOT_SERVING",
    });
    expect([await http("/livez"), await http("/startupz"), await http("/readyz")]).toEqual([
      200, 503, 503,
    ]);
    await expect(client().ingest({ sale: makeSale() }, auth(apiKey))).rejects.toMatchObject({
      code: 14,
    });
  });

  it("ready once the database is reachable: every name SERVING", async () => {
    proxy.heal();
    await started;
    expect(await statuses()).toEqual(Object.fromEntries(names.map((n) => [n, "SERVING"])));
    expect([await http("/livez"), await http("/startupz"), await http("/readyz")]).toEqual([
      200, 200, 200,
    ]);
    const res = await client().ingest({ sale: makeSale() }, auth(apiKey, "health-1"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
  });

  it("answers NOT_FOUND for a name it does not serve, and Watch says SERVICE_UNKNOWN", async () => {
    expect(await probe.check("no.such.Service")).toBe(status.NOT_FOUND);
    const watch = probe.watch("no.such.Service");
    await eventually(async () => watch.statuses.length, 1);
    expect(watch.statuses).toEqual(["SERVICE_UNKNOWN"]);
    watch.cancel();
  });

  it("database lost: readiness NOT_SERVING, liveness stays SERVING; Watch sees both transitions", async () => {
    const watch = probe.watch(HEALTH_SERVICES.readiness);
    await eventually(async () => watch.statuses.length, 1);
    proxy.cut();
    expect(await eventually(() => probe.check("readiness"), "NOT_SERVING")).toBe("NOT_SERVING");
    expect(await probe.check("liveness")).toBe("SERVING");
    expect(await probe.check("startup")).toBe("SERVING");
    expect(await probe.check("pos.ingest.v1.IngestService")).toBe("NOT_SERVING");
    expect(await http("/readyz")).toBe(503);
    await expect(
      client().ingest({ sale: makeSale() }, auth(apiKey, "health-2")),
    ).rejects.toMatchObject({
      code: 14,
    });

    proxy.heal();
    expect(await eventually(() => probe.check("readiness"), "SERVING")).toBe("SERVING");
    expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    watch.cancel();
  });

  it("draining: readiness NOT_SERVING at once, calls still served during the grace, then exit", async () => {
    const watch = probe.watch(HEALTH_SERVICES.server);
    await eventually(async () => watch.statuses.length, 1);
    const stopped = app.stop();
    expect(await probe.check("readiness")).toBe("NOT_SERVING");
    expect(await probe.check("")).toBe("NOT_SERVING");
    expect(await probe.check("liveness")).toBe("SERVING");
    // Still serving during the grace, so in-flight load balancer updates lose nothing.
    const res = await client().ingest({ sale: makeSale() }, auth(apiKey, "health-3"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
    // The Watch is ended by the server so it cannot hold the shutdown open.
    await watch.ended;
    expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING"]);
    expect(await stopped).toBe("clean");
  });
});
