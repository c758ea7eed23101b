import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/key-service.js";
import { createDatabase } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { type ChildServer, spawnServer } from "../support/child-server.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { createTestDatabase, query, type TestDatabase } from "../support/database.js";
import { fixedSales } from "../support/fixtures.js";
import { auth } from "../support/server.js";

// Long enough that the cut below always catches the stream mid-way (2,000 committed, 28,000 to go
// against a 0.7 s grace + deadline), short enough that a loaded machine drains it well within the
// drain test's deadline.
const RECORDS = 30_000;
let db: TestDatabase;
let apiKey: string;

/** The same sales every time it is called, so a resend is a true resend. */
const sales = () => fixedSales("shutdown", RECORDS);

const stored = async (key: string) =>
  Number(
    (
      await query<{ n: string }>(
        db.url,
        "select count(*) as n from sales where starts_with(idempotency_key, $1)",
        [`${key}/`],
      )
    )[0]?.n,
  );

const connect = clientsClosedAtFileEnd();
function clientOf(server: ChildServer) {
  return connect(`http://127.0.0.1:${server.grpcPort}`);
}

/** Resolves once the server has committed at least `n` records of the stream. */
async function committed(key: string, n: number): Promise<void> {
  while ((await stored(key)) < n) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = createDatabase({ kind: "postgres", url: db.url, poolMax: 2 });
  await migrateToLatest(setup.db);
  apiKey = (await createApiKey(setup.db, "acme")).token;
  await setup.close();
});
afterAll(async () => {
  await db?.drop();
});

// Two 30,000-record streams per test: a few seconds on a quiet 2-core machine, many times that on a
// loaded one; the budget is for the machine, the assertions are about order and counts.
describe("SIGTERM during a 30,000-record stream", { timeout: 300_000 }, () => {
  it("lets the stream finish within the deadline: every acknowledged record is stored, exit 0", async () => {
    const server = await spawnServer({
      DATABASE_URL: db.url,
      SHUTDOWN_GRACE_MS: "300",
      SHUTDOWN_DEADLINE_MS: "200000",
      SHUTDOWN_BUDGET_MS: "300000",
    });
    const call = clientOf(server).ingestStream(sales(), auth(apiKey, "drain-ok"));
    await committed("drain-ok", 2_000);
    const signalled = performance.now();
    server.process.kill("SIGTERM");

    const res = await call;
    expect(res).toMatchObject({
      received: BigInt(RECORDS),
      accepted: BigInt(RECORDS),
      rejected: 0n,
    });
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    expect(await stored("drain-ok")).toBe(RECORDS);
    expect(server.logs.some((l) => l.msg === "stopped cleanly")).toBe(true);
    // Not held open after the stream: it exits promptly once the last call is answered.
    expect(exit.at - signalled).toBeLessThan(200_000);
    process.stdout.write(
      `${JSON.stringify({ drainOk: { signalToExitMs: Math.round(exit.at - signalled) } })}\n`,
    );
  });

  it("ends the stream UNAVAILABLE at the deadline, acknowledges nothing, exits 1; a resend completes it exactly once", async () => {
    const server = await spawnServer({
      DATABASE_URL: db.url,
      SHUTDOWN_GRACE_MS: "200",
      SHUTDOWN_DEADLINE_MS: "500",
    });
    const call = clientOf(server).ingestStream(sales(), auth(apiKey, "drain-cut"));
    await committed("drain-cut", 2_000);
    const signalled = performance.now();
    server.process.kill("SIGTERM");

    const err = await call.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unavailable);
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    // grace + deadline + the moment handlers get to answer, and some slack for a loaded machine.
    expect(exit.at - signalled).toBeLessThan(200 + 500 + 1_000 + 3_000);
    expect(server.logs.some((l) => l.msg === "stopped at the deadline")).toBe(true);
    process.stdout.write(
      `${JSON.stringify({ drainCut: { signalToExitMs: Math.round(exit.at - signalled) } })}\n`,
    );

    const partial = await stored("drain-cut");
    expect(partial).toBeGreaterThanOrEqual(2_000);
    expect(partial).toBeLessThan(RECORDS);

    const again = await spawnServer({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: "0" });
    try {
      const res = await clientOf(again).ingestStream(sales(), auth(apiKey, "drain-cut"));
      expect(res.duplicate).toBe(BigInt(partial));
      expect(res.accepted).toBe(BigInt(RECORDS - partial));
      expect(await stored("drain-cut")).toBe(RECORDS);
    } finally {
      again.process.kill("SIGTERM");
      await again.exited;
    }
  });

  it("exits at once on a second signal", async () => {
    const server = await spawnServer({
      DATABASE_URL: db.url,
      SHUTDOWN_GRACE_MS: "30000",
      SHUTDOWN_BUDGET_MS: "120000",
    });
    const signalled = performance.now();
    server.process.kill("SIGTERM");
    await server.waitForLog("shutting down");
    server.process.kill("SIGINT");
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - signalled).toBeLessThan(5_000);
  });
});
