import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Database } from "../storage/database.js";
import type { HealthModel } from "./health-model.js";

/** A background check that can be stopped. */
export interface Monitor {
  stop(): void;
}

/**
 * Pings the database every `intervalMs` with a bounded `select 1` and reports reachability. The
 * timeout timer is always cleared, and a ping never overlaps the previous one, so a hung database
 * costs at most one pending query, not a pile of them.
 */
export function startDatabasePinger(options: {
  db: Kysely<Database>;
  health: HealthModel;
  intervalMs: number;
  timeoutMs: number;
  /**
   * Runs the ping under the circuit breaker, so the ping is the breaker's trial call when no
   * traffic arrives (readiness is off while it is open). Rejects with `isBreakerOpen` errors when
   * the breaker is open and the ping was not attempted: that says nothing about the database.
   */
  guard?: <T>(operation: () => Promise<T>) => Promise<T>;
  isBreakerOpen?: (err: unknown) => boolean;
}): Monitor {
  const guard = options.guard ?? ((operation) => operation());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const ping = async (): Promise<void> => {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        guard(() => sql`select 1`.execute(options.db)),
        new Promise((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error("database ping timed out")),
            options.timeoutMs,
          );
        }),
      ]);
      if (!stopped) options.health.update({ databaseReachable: true });
    } catch (err) {
      if (!stopped && !options.isBreakerOpen?.(err)) {
        options.health.update({ databaseReachable: false });
      }
    } finally {
      clearTimeout(timeout);
      if (!stopped) {
        timer = setTimeout(() => void ping(), options.intervalMs);
        timer.unref();
      }
    }
  };
  void ping();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Watches event-loop lag with a heartbeat: a beat that arrives more than `maxDelayMs` late means
 * the process is not making progress (a CPU-bound loop, a synchronous call stuck), and liveness
 * goes NOT_SERVING until beats are on time again. A loop blocked outright cannot answer the probe
 * at all, which the probe's own timeout catches.
 */
export function startEventLoopMonitor(options: {
  health: HealthModel;
  maxDelayMs: number;
}): Monitor {
  const periodMs = Math.min(1000, Math.max(10, Math.floor(options.maxDelayMs / 2)));
  let expected = performance.now() + periodMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = now - expected;
    expected = now + periodMs;
    options.health.update({ eventLoopStalled: lag > options.maxDelayMs });
  }, periodMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
