import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size of a process in MiB, from /proc (Linux) or `ps` elsewhere. */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kib) return Number(kib) / 1024;
  } catch {
    // no /proc: fall through to ps
  }
  try {
    const kib = execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
    return Number(kib.trim()) / 1024 || undefined;
  } catch {
    return undefined;
  }
}

/** Peak and last RSS seen while sampling. */
export interface RssSamples {
  readonly peakMiB: number;
  readonly lastMiB: number;
  readonly samples: number;
}

/** Samples a process's RSS every `intervalMs` until `stop()` is called. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): RssSamples } {
  let peak = 0;
  let last = 0;
  let samples = 0;
  const take = () => {
    const mib = rssMiB(pid);
    if (mib === undefined) return;
    samples++;
    last = mib;
    peak = Math.max(peak, mib);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakMiB: peak, lastMiB: last, samples };
    },
  };
}

/**
 * CPU time (user + system, seconds) a process has used so far, from /proc/<pid>/stat; undefined
 * where there is no /proc. Clock ticks are taken as 100 per second (Linux's USER_HZ).
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (seconds) used by the local PostgreSQL server so far: every live `postgres` process,
 * plus what the postmaster has collected from backends that already exited (cutime + cstime), so
 * the difference over a run counts connections that came and went. Undefined without /proc.
 */
export function postgresCpuSeconds(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const procs = new Map<string, { ppid: string; own: number; children: number }>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== "postgres") continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(pid, {
        ppid: f[1] ?? "",
        own: (Number(f[11]) + Number(f[12])) / 100,
        children: (Number(f[13]) + Number(f[14])) / 100,
      });
    } catch {
      // exited while scanning
    }
  }
  if (procs.size === 0) return undefined;
  let total = 0;
  for (const p of procs.values()) {
    total += p.own;
    if (!procs.has(p.ppid)) total += p.children;
  }
  return total;
}

/** CPU seconds used so far by the given processes and by the local PostgreSQL server. */
export interface CpuSnapshot {
  readonly servers: number | undefined;
  readonly postgres: number | undefined;
}

/** Takes a snapshot; compare two with `cpuUsedBetween`. */
export function cpuSnapshot(pids: readonly number[]): CpuSnapshot {
  let servers: number | undefined = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    servers = s === undefined || servers === undefined ? undefined : servers + s;
  }
  return { servers: pids.length > 0 ? servers : undefined, postgres: postgresCpuSeconds() };
}

/** CPU seconds used between two snapshots, as report fields (absent where unknown). */
export function cpuUsedBetween(before: CpuSnapshot, after: CpuSnapshot) {
  const delta = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    serverCpuSeconds: delta(before.servers, after.servers),
    postgresCpuSeconds: delta(before.postgres, after.postgres),
  };
}
