import { randomBytes } from "node:crypto";
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** The file in a PGlite data directory that names its one owner. */
export const LOCK_FILE_NAME = "pos-ingest.lock";

/** Who holds an embedded database: what the lock file records. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  /** When the owning process started (ISO 8601): tells a reused pid from the owner. */
  readonly processStartedAt: string;
  /** When it took the lock (ISO 8601). */
  readonly lockedAt: string;
  /** Its command line, so the operator knows what to stop. */
  readonly command: string;
}

/** A held lock. */
export interface DataDirLock {
  /** The owner this process replaced because it had died without letting go (`kill -9`). */
  readonly tookOverFrom: LockOwner | undefined;
  /** Lets the directory go; idempotent. Also done on process exit. */
  release(): void;
}

/**
 * The data directory is held by another live process (or one this host cannot check). Its
 * message names the owner and what to do, for the operator to read as is.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner | undefined,
    detail?: string,
  ) {
    super(
      `${detail ?? lockedMessage(dataDir, owner)}; stop it, or set DATABASE_URL to use PostgreSQL instead of the embedded database`,
    );
    this.name = "DataDirLockedError";
  }
}

function lockedMessage(dataDir: string, owner: LockOwner | undefined): string {
  if (!owner) return `the embedded database ${dataDir} is in use`;
  const where = owner.hostname === hostname() ? "" : ` on host ${owner.hostname}`;
  return `the embedded database ${dataDir} is in use by pid ${owner.pid}${where} (${owner.command}, started ${owner.processStartedAt})`;
}

/** When this process started, as the lock records it. */
function processStartedAt(): string {
  return new Date(Date.now() - process.uptime() * 1000).toISOString();
}

/**
 * Two readings of one process's start time differ by clock jitter only; another process with
 * the same pid started at least as long after as the first one lived (and a second is plenty).
 */
function isThisProcess(startedAt: string): boolean {
  return Math.abs(Date.parse(startedAt) - Date.parse(processStartedAt())) < 1_000;
}

/**
 * Whether `owner` is certainly gone, so its lock may be taken over. Only a process on this host
 * can be checked; a pid that is alive counts as the owner even if it was reused, since mistaking
 * a live owner for a dead one would let two processes write one database.
 */
function isStale(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) {
    // Our own pid: this process holds it (another handle), or a previous process with the same
    // pid did, as after a container restart where the server is pid 1 again.
    return !isThisProcess(owner.processStartedAt);
  }
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** A lock file's text and the owner it names; "missing" if there is none. */
function readLock(path: string): { text: string; owner: LockOwner | undefined } | "missing" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errno(err) === "ENOENT") return "missing";
    throw err;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (Number.isInteger(owner.pid) && typeof owner.hostname === "string") {
      return { text, owner };
    }
  } catch {}
  return { text, owner: undefined };
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Makes this process the one owner of the PGlite data directory `dataDir` (created if need be),
 * before PGlite opens it: PGlite has no lock of its own, and two processes on one directory each
 * write their own view of it, so one silently loses the other's commits.
 *
 * The lock file is written whole under a private name and hard-linked into place: the link is
 * atomic and fails if the file exists, so no one ever reads a half-written lock. A lock whose
 * owner is gone (same host, pid not running) is moved aside by rename, which only one taker can
 * do; the taker then checks it moved the very file it judged stale (same inode) before linking
 * its own. A taker that finds it moved a fresh lock instead puts it back and re-reads.
 *
 * Staleness is by pid, not by age as in mtime-based lock libraries: a server whose event loop
 * stalls must not lose its database to a second process.
 *
 * @throws DataDirLockedError when another live process holds the directory.
 */
export function acquireDataDirLock(
  dataDir: string,
  options: {
    /**
     * Runs between judging a lock stale and moving it aside: lets a test make another taker
     * act in exactly that window.
     */
    readonly beforeTakeover?: (owner: LockOwner) => void;
  } = {},
): DataDirLock {
  // PGlite creates its own directory but not the parents: a fresh clone has no .data/ yet.
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE_NAME);
  const mine: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    processStartedAt: processStartedAt(),
    lockedAt: new Date().toISOString(),
    command: process.argv.join(" "),
  };
  const draft = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(draft, `${JSON.stringify(mine, null, 2)}\n`, { flag: "wx" });
  // The lock will be a second name of this very file: its inode is how release knows its own.
  const ino = statSync(draft).ino;
  let tookOverFrom: LockOwner | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      // Bounded: each round only repeats when another process changed the lock under us.
      if (attempt === 20) throw new DataDirLockedError(dataDir, undefined);
      try {
        linkSync(draft, path);
        break;
      } catch (err) {
        if (errno(err) !== "EEXIST") throw err;
      }
      // Inode first, then content: if the file is replaced in between, we read the newer one.
      const before = statOrUndefined(path);
      const lock = readLock(path);
      if (lock === "missing") continue;
      const { owner } = lock;
      if (owner === undefined) {
        throw new DataDirLockedError(
          dataDir,
          undefined,
          `the embedded database ${dataDir} has a lock file that cannot be read (${path}); if no process uses the directory, remove that file`,
        );
      }
      if (!isStale(owner)) throw new DataDirLockedError(dataDir, owner);
      if (before === undefined) continue;
      options.beforeTakeover?.(owner);
      const aside = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.stale`;
      try {
        renameSync(path, aside);
      } catch (err) {
        if (errno(err) === "ENOENT") continue; // another taker moved it first
        throw err;
      }
      // Inode and text both, as an inode number freed by another taker can be reused at once.
      if (statSync(aside).ino === before && readFileSync(aside, "utf8") === lock.text) {
        unlinkSync(aside);
        tookOverFrom = owner;
      } else {
        // We moved a lock another taker had just written: put it back (link fails rather than
        // overwrite if yet another process got in between) and look again.
        try {
          linkSync(aside, path);
        } catch (err) {
          if (errno(err) !== "EEXIST") throw err;
        }
        unlinkSync(aside);
      }
    }
  } finally {
    unlinkSync(draft);
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    // Only our own file: never delete a lock that a taker wrote after judging ours stale.
    if (statOrUndefined(path) === ino) unlinkSync(path);
  };
  // A process that exits without closing (an uncaught error, process.exit) lets go too; only
  // SIGKILL or a crash leaves the lock, which the next opener then takes over.
  process.on("exit", release);
  return { tookOverFrom, release };
}

function statOrUndefined(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    if (errno(err) === "ENOENT") return undefined;
    throw err;
  }
}
