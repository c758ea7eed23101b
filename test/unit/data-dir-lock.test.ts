import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import {
  acquireDataDirLock,
  type DataDirLock,
  DataDirLockedError,
  LOCK_FILE_NAME,
  type LockOwner,
} from "../../src/storage/data-dir-lock.js";

const root = mkdtempSync(join(tmpdir(), "pos-ingest-lock-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${++dirs}`, "pglite");

/** Writes a lock file as another process would have; a string is written as it is. */
function writeLock(dir: string, owner: Partial<LockOwner> | string): string {
  const text =
    typeof owner === "string"
      ? owner
      : JSON.stringify({
          pid: 1,
          hostname: hostname(),
          processStartedAt: new Date().toISOString(),
          lockedAt: new Date().toISOString(),
          command: "node dist/src/main.js",
          ...owner,
        });
  acquireDataDirLock(dir).release(); // creates the directory
  writeFileSync(join(dir, LOCK_FILE_NAME), text);
  return text;
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid as number;
}

const lockText = (dir: string) => readFileSync(join(dir, LOCK_FILE_NAME), "utf8");

describe("data directory lock", () => {
  it("has one holder: a second acquirer is refused with the owner and what to do", () => {
    const dir = freshDir();
    const lock = acquireDataDirLock(dir);
    expect(lock.tookOverFrom).toBeUndefined();
    let refused: unknown;
    try {
      acquireDataDirLock(dir);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect(String(refused)).toContain(`in use by pid ${process.pid} (`);
    expect(String(refused)).toContain("stop it, or set DATABASE_URL");
    lock.release();
    lock.release();
    // Released: nothing left behind, and the next acquirer gets it without a takeover.
    expect(readdirSync(dir)).toEqual([]);
    const again = acquireDataDirLock(dir);
    expect(again.tookOverFrom).toBeUndefined();
    again.release();
  });

  it("takes over a lock whose process is gone", async () => {
    const dir = freshDir();
    const pid = await deadPid();
    writeLock(dir, { pid });
    const lock = acquireDataDirLock(dir);
    expect(lock.tookOverFrom?.pid).toBe(pid);
    expect(JSON.parse(lockText(dir)).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    lock.release();
  });

  it("takes over its own pid's lock from an earlier process (a restarted container's pid 1)", () => {
    const dir = freshDir();
    writeLock(dir, { pid: process.pid, processStartedAt: "2020-01-01T00:00:00.000Z" });
    const lock = acquireDataDirLock(dir);
    expect(lock.tookOverFrom?.processStartedAt).toBe("2020-01-01T00:00:00.000Z");
    lock.release();
  });

  it("refuses, changing nothing, while the owner lives, runs elsewhere or cannot be read", () => {
    const cases: [Partial<LockOwner> | string, string][] = [
      [{ pid: process.ppid }, `in use by pid ${process.ppid} (node dist/src/main.js, started`],
      [{ pid: 4242, hostname: "laptop-7" }, "in use by pid 4242 on host laptop-7"],
      ["{ half a lock", "cannot be read"],
    ];
    for (const [owner, message] of cases) {
      const dir = freshDir();
      const text = writeLock(dir, owner);
      expect(() => acquireDataDirLock(dir)).toThrow(message);
      expect(lockText(dir)).toBe(text);
      expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    }
  });

  it("lets one taker win when another takes the stale lock over in the meantime", async () => {
    const dir = freshDir();
    const pid = await deadPid();
    writeLock(dir, { pid });
    let first: DataDirLock | undefined;
    // The second taker judged the lock stale; before it moves it aside, the first takes it over.
    expect(() =>
      acquireDataDirLock(dir, {
        beforeTakeover: () => {
          first = acquireDataDirLock(dir);
        },
      }),
    ).toThrow(`in use by pid ${process.pid}`);
    expect(first?.tookOverFrom?.pid).toBe(pid);
    // The first taker's lock is in place, untouched, and nothing else is left behind.
    expect(JSON.parse(lockText(dir)).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    first?.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("lets one of several processes racing for a stale lock win, refuses the rest, leaves nothing behind", async () => {
    const dir = freshDir();
    writeLock(dir, { pid: await deadPid() });
    const go = join(root, `go-${dirs}`);
    // Each contender spins on the go file, so all of them try within the same few milliseconds.
    const script = `
      const { acquireDataDirLock } = await import(${JSON.stringify(`${process.cwd()}/dist/src/storage/data-dir-lock.js`)});
      const { existsSync } = await import("node:fs");
      console.log("armed");
      while (!existsSync(${JSON.stringify(go)}));
      try { acquireDataDirLock(${JSON.stringify(dir)}); console.log("won"); }
      catch (err) { console.log("lost: " + err.message); }
      process.stdin.resume();
      process.stdin.on("end", () => process.exit(0));`;
    const contenders = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script]);
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => String((await lines.next()).value);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      return { child, next, exited };
    });
    try {
      for (const c of contenders) expect(await c.next()).toBe("armed");
      writeFileSync(go, "");
      const results = await Promise.all(contenders.map((c) => c.next()));
      expect(results.filter((r) => r === "won")).toHaveLength(1);
      for (const r of results.filter((r) => r !== "won")) expect(r).toContain("lost: ");
      const winner = contenders[results.indexOf("won")]?.child.pid;
      expect(JSON.parse(lockText(dir)).pid).toBe(winner);
    } finally {
      for (const c of contenders) c.child.stdin.end();
      await Promise.all(contenders.map((c) => c.exited));
    }
    // The winner let go as it exited; the losers left nothing behind.
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
