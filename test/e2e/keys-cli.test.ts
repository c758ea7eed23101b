import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type App, createApp } from "../../src/app.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { createTestDatabase, query, type TestDatabase } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { testLogger } from "../support/log-lines.js";
import { auth, testConfig } from "../support/server.js";

const run = promisify(execFile);
const connect = clientsClosedAtFileEnd();
let db: TestDatabase;
let app: App;
let port: number;

/** Runs the compiled keys CLI as an operator would, against the test database. */
async function keysCli(...args: string[]) {
  return run("node", ["dist/src/cli/main.js", "keys", ...args], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: "silent" },
  }).catch((err: { code: number; stdout: string; stderr: string }) => err);
}

beforeAll(async () => {
  db = await createTestDatabase();
  // Cache off, so a revocation is visible to the very next call.
  app = createApp(
    testConfig({
      database: { kind: "postgres", url: db.url, poolMax: 4 },
      auth: { ...testConfig().auth, cacheTtlSeconds: 0, devKeyOnEmpty: true },
    }),
    testLogger(),
  );
  port = (await app.start()).grpcPort;
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

describe("pos-ingest keys", () => {
  it("creates a key that works, lists it without the secret, and revokes it", async () => {
    const created = await keysCli("create", "--tenant", "acme");
    expect("code" in created ? created.code : 0).toBe(0);
    const token = /api key: (pik_\S+)/.exec(created.stdout)?.[1] as string;
    const keyId = /key id:\s+(\S+)/.exec(created.stdout)?.[1] as string;
    expect(token).toMatch(/^pik_[0-9a-f]{12}_/);

    const stored = await query<{ row: string }>(
      db.url,
      "select to_jsonb(k)::text as row from api_keys k",
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.row).not.toContain(token.slice(17));

    const client = connect(`http://127.0.0.1:${port}`);
    const res = await client.ingest({ sale: makeSale() }, auth(token, "cli-1"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);

    const listed = await keysCli("list", "--tenant", "acme");
    expect(listed.stdout).toContain(`${keyId}  acme`);
    expect(listed.stdout).toContain("active");
    expect(listed.stdout).not.toContain(token);

    const revoked = await keysCli("revoke", keyId);
    expect(revoked.stdout).toContain(`revoked ${keyId}`);
    await expect(client.ingest({ sale: makeSale() }, auth(token, "cli-2"))).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    expect((await keysCli("list")).stdout).toMatch(
      new RegExp(`${keyId}\\s+acme\\s+\\S+\\s+revoked`),
    );
  });

  it("never prints a development key against a real server", async () => {
    const rows = await query<{ n: string }>(
      db.url,
      "select count(*) as n from tenants where id = 'dev'",
    );
    expect(rows[0]?.n).toBe("0");
  });

  it("refuses a bad tenant id and an unknown command with a usage message", async () => {
    const bad = await keysCli("create", "--tenant", "Not Valid!");
    expect("code" in bad && bad.code).toBe(1);
    expect(bad.stderr).toContain("tenant id must match");
    const unknown = await keysCli("frobnicate");
    expect("code" in unknown && unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(unknown.stderr).toContain("--help");
  });
});
