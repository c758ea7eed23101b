import { readFileSync } from "node:fs";
import type pg from "pg";
import { cpuSeconds } from "./process-stats.js";

/**
 * CPU time used by the PostgreSQL backends connected to one database, over a span of work.
 *
 * The machine-wide figure (every `postgres` process, `postgresCpuSeconds`) also counts whatever
 * else the shared server does meanwhile — on a machine where other people's test suites use the
 * same PostgreSQL, that can be most of it. A bench database has no other clients, so its own
 * backends are the service's share. It leaves out the server's background processes (WAL
 * writer, checkpointer, autovacuum), which the machine-wide figure includes: the two bracket
 * the truth. Backends are listed at both ends, so a connection the pool opens during the span is
 * counted whole; one that closes during the span is lost (the service's pool keeps busy
 * connections for 30 s idle).
 */
export async function databaseBackendsCpu<T>(
  admin: pg.Client,
  database: string,
  work: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: number | undefined }> {
  const before = sample(await backends(admin, database));
  const result = await work();
  const after = sample(await backends(admin, database));
  if (after === undefined || before === undefined) return { result, cpuSeconds: undefined };
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return { result, cpuSeconds: total };
}

async function backends(admin: pg.Client, database: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
    [database],
  );
  return rows.map((r) => r.pid);
}

/** CPU seconds per pid; undefined without /proc (not Linux, or PostgreSQL on another host). */
function sample(pids: readonly number[]): Map<number, number> | undefined {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    // A server on another host reports its own pids, which may name some local process.
    if (!isPostgres(pid)) continue;
    const s = cpuSeconds(pid);
    if (s !== undefined) seconds.set(pid, s);
  }
  return pids.length > 0 && seconds.size === 0 ? undefined : seconds;
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres";
  } catch {
    return false;
  }
}
