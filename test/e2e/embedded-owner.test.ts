import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type ChildServer, launchServer, spawnServer } from "../support/child-server.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { makeSale } from "../support/fixtures.js";
import { auth } from "../support/server.js";

const run = promisify(execFile);
const connect = clientsClosedAtFileEnd();
const root = mkdtempSync(join(tmpdir(), "pos-ingest-owner-"));
const dataDir = join(root, "pglite");
// `npm start` with no DATABASE_URL: the embedded database in one directory.
const embedded = {
  DATABASE_URL: undefined,
  PGLITE_DATA_DIR: dataDir,
  DEV_API_KEY_ON_EMPTY: "true",
  LOG_LEVEL: "info",
};
const running: ChildServer[] = [];
afterAll(async () => {
  for (const s of running) {
    s.process.kill("SIGKILL");
    await s.exited;
  }
  rmSync(root, { recursive: true, force: true });
});

async function startServer(): Promise<ChildServer> {
  // A fresh PGlite takes tens of seconds to create on a loaded machine.
  const server = await spawnServer(embedded, 120_000);
  running.push(server);
  return server;
}

async function kill9(server: ChildServer): Promise<void> {
  server.process.kill("SIGKILL");
  await server.exited;
}

/** Runs the compiled CLI as an operator would, on the same embedded database. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PGLITE_DATA_DIR: dataDir, LOG_LEVEL: "silent" };
  delete env.DATABASE_URL;
  return run("node", ["dist/src/cli/main.js", ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

const clientOf = (server: ChildServer) => connect(`http://127.0.0.1:${server.grpcPort}`);

describe("the embedded database has one owner", { timeout: 300_000 }, () => {
  const sale = makeSale();
  let owner: ChildServer;
  let devKey = "";
  let firstId = "";

  it("a second server or CLI on the same directory fails at once, naming the owner, and changes nothing", async () => {
    owner = await startServer();
    const shown = owner.logs.find((l) => String(l.msg).startsWith("development API key"));
    devKey = /(pik_\S+)/.exec(String(shown?.msg))?.[1] as string;
    const first = await clientOf(owner).ingest({ sale }, auth(devKey, "owner-1"));
    expect(first.outcome).toBe(Outcome.ACCEPTED);
    firstId = first.recordId;
    const pid = String(owner.process.pid);

    const second = launchServer(embedded);
    const outcome = await Promise.race([
      second.exited,
      second.waitForLog("ready", 120_000).then(
        () => "ready",
        () => "no ready line",
      ),
    ]);
    if (typeof outcome === "string") {
      second.process.kill("SIGKILL");
      await second.exited;
      throw new Error(`a second server on the same data directory did not fail: ${outcome}`);
    }
    expect(outcome.code).toBe(1);
    // The lock is taken before anything else: the second server never bound a port.
    expect(second.logs.some((l) => l.msg === "listening")).toBe(false);
    const fatal = second.logs.find((l) => l.level === 60);
    expect(fatal?.msg).toContain(`pid ${pid}`);
    expect(fatal?.msg).toContain("DATABASE_URL");

    for (const args of [["keys", "create", "--tenant", "acme"], ["keys", "list"], ["migrate"]]) {
      const refused = await cli(...args);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain(`pid ${pid}`);
      expect(refused.stderr).toContain("stop it");
      expect(refused.stderr).toContain("DATABASE_URL");
    }

    // The owner goes on as before, with its data.
    const replay = await clientOf(owner).ingest({ sale }, auth(devKey, "owner-1"));
    expect(replay).toMatchObject({ outcome: Outcome.DUPLICATE, recordId: firstId });
    const next = await clientOf(owner).ingest({ sale: makeSale() }, auth(devKey, "owner-2"));
    expect(next.outcome).toBe(Outcome.ACCEPTED);
  });

  it("a lock left by kill -9 is taken over by the next server and CLI, and the data is intact", async () => {
    const deadPid = owner.process.pid;
    await kill9(owner);

    const heir = await startServer();
    const takeover = heir.logs.find((l) => String(l.msg).includes("took over"));
    expect(takeover?.msg).toContain(`pid ${deadPid}`);
    expect(heir.logs.some((l) => String(l.msg).startsWith("development API key"))).toBe(false);
    const replay = await clientOf(heir).ingest({ sale }, auth(devKey, "owner-1"));
    expect(replay).toMatchObject({ outcome: Outcome.DUPLICATE, recordId: firstId });
    const heirPid = heir.process.pid;
    await kill9(heir);

    const created = await cli("keys", "create", "--tenant", "acme");
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`pid ${heirPid}`);
    const token = /api key: (pik_\S+)/.exec(created.stdout)?.[1] as string;
    const keyId = /key id:\s+(\S+)/.exec(created.stdout)?.[1] as string;
    expect(token).toMatch(/^pik_/);

    // The CLI let the database go when it finished: the next opener takes nothing over.
    const listed = await cli("keys", "list");
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe("");
    expect(listed.stdout).toMatch(new RegExp(`${keyId}\\s+acme\\s+\\S+\\s+active`));
    expect(listed.stdout).toMatch(/\sdev\s/);

    // The key the CLI printed is the key the server accepts (the reported defect: it was not).
    const last = await startServer();
    expect(last.logs.some((l) => String(l.msg).includes("took over"))).toBe(false);
    const res = await clientOf(last).ingest({ sale: makeSale() }, auth(token, "acme-1"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
    last.process.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
    expect((await cli("keys", "list")).stderr).toBe("");
  });
});
