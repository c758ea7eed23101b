import { Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shutdownWorstCaseMs } from "../../src/lifecycle/shutdown-budget.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";
import { eventually } from "../support/wait.js";

const breaker = {
  timeoutMs: 300,
  errorThresholdPercent: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5_000,
  windowMs: 10_000,
};
const shutdown = { graceMs: 0, deadlineMs: 1_000 };

let server: TestServer;
let locker: pg.Client;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres", config: { breaker, shutdown } });
  locker = new pg.Client({ connectionString: server.databaseUrl });
  await locker.connect();
});
afterAll(async () => {
  await locker?.end().catch(() => {});
  await server?.stop();
});

describe("shutdown with a write stuck in Postgres", { timeout: 60_000 }, () => {
  it("still returns within the worst case the config declares, reporting it forced", async () => {
    // Another session holds the sales table: the server's insert waits in Postgres with its
    // pool connection checked out, long after the breaker gave up on it.
    await locker.query("begin");
    await locker.query("lock table sales in access exclusive mode");
    const err = await failure(
      server.client().ingest({ sale: makeSale() }, auth(server.keys.acme, "stuck-write")),
    );
    expect(err.code).toBe(Code.Unavailable);
    const waiting = () =>
      query<{ n: string }>(
        server.databaseUrl as string,
        "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%insert into sales%'",
      ).then((rows) => Number(rows[0]?.n));
    expect(await eventually(waiting, 1, 10_000)).toBe(1);

    const worstCaseMs = shutdownWorstCaseMs({ ...shutdown, breakerTimeoutMs: breaker.timeoutMs });
    const began = performance.now();
    // Generous for a loaded machine, yet finite: without the bound stop() waits for the lock.
    const outcome = await Promise.race([
      server.app.stop(),
      new Promise((r) => setTimeout(() => r("still stopping"), worstCaseMs + 15_000)),
    ]);
    const tookMs = performance.now() - began;
    await locker.query("rollback");
    expect(outcome).toBe("forced");
    // The bound is a timer: it can only fire late (event-loop lag), never early.
    expect(tookMs).toBeGreaterThanOrEqual(worstCaseMs - 50);
    expect(tookMs).toBeLessThan(worstCaseMs + 5_000);
  });
});
