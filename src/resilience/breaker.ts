import CircuitBreaker from "opossum";
import { DependencyUnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { isTransientDbError } from "../storage/db-errors.js";

export type BreakerState = "closed" | "open" | "half_open";

/** The database circuit breaker: every database call the service makes goes through `run`. */
export interface DbBreaker {
  run<T>(operation: () => Promise<T>): Promise<T>;
  state(): BreakerState;
  onStateChange(listener: (state: BreakerState) => void): void;
  shutdown(): void;
}

/** The breaker is open: the call was not attempted. */
/** How long a client should wait before retrying after a database failure. */
const STORAGE_RETRY_AFTER_MS = 1_000;

export class BreakerOpenError extends DependencyUnavailableError {
  override readonly name = "BreakerOpenError";
}

/**
 * The database failed in a way a retry may get past (connection lost, restarting, a deadlock
 * victim: see isTransientDbError). The driver's error is its cause; above the breaker, nothing
 * knows what pg's errors look like.
 */
export class StorageUnavailableError extends DependencyUnavailableError {
  override readonly name = "StorageUnavailableError";
}

/** The call took longer than the breaker's timeout. It may still complete in the database. */
export class DbTimeoutError extends DependencyUnavailableError {
  override readonly name = "DbTimeoutError";
}

export interface BreakerOptions {
  readonly timeoutMs: number;
  readonly errorThresholdPercent: number;
  readonly volumeThreshold: number;
  readonly resetTimeoutMs: number;
  readonly windowMs: number;
}

/**
 * Wraps database calls in an opossum circuit breaker. Only infrastructure failures count
 * (connection loss, timeouts, the server shutting down: see isTransientDbError); a bug or a
 * constraint we handle never trips it, and client mistakes never reach the database at all.
 * Open, it fails calls at once with the time until the next trial call, so clients back off
 * instead of piling onto a dead database; after `resetTimeoutMs` one trial call (often the
 * health ping) decides whether it closes again.
 *
 * A timed-out write is not cancelled: it may still commit. That is safe because every write is
 * keyed, so the client's retry with the same idempotency key finds the row and gets the original
 * answer instead of writing it again.
 */
export function createDbBreaker(options: BreakerOptions, logger: Logger): DbBreaker {
  const breaker = new CircuitBreaker(<T>(operation: () => Promise<T>) => operation(), {
    timeout: options.timeoutMs,
    errorThresholdPercentage: options.errorThresholdPercent,
    volumeThreshold: options.volumeThreshold,
    resetTimeout: options.resetTimeoutMs,
    rollingCountTimeout: options.windowMs,
    rollingCountBuckets: 10,
    // true means "not a failure": only infrastructure trouble counts towards opening.
    errorFilter: (err: unknown) => !isTransientDbError(err),
  });
  let openedAt = 0;
  let current: BreakerState = "closed";
  const listeners: ((state: BreakerState) => void)[] = [];
  const transition = (state: BreakerState) => {
    if (state === current) return;
    // Debug: during an outage the breaker retries and reopens every resetTimeoutMs; the outage
    // itself is logged once (health/outage-log.ts) and transitions are counted in metrics.
    logger.debug({ breaker: "database", from: current, to: state }, "circuit breaker transition");
    current = state;
    for (const l of listeners) l(state);
  };
  breaker.on("open", () => {
    openedAt = Date.now();
    transition("open");
  });
  breaker.on("halfOpen", () => transition("half_open"));
  breaker.on("close", () => transition("closed"));

  return {
    async run<T>(operation: () => Promise<T>): Promise<T> {
      try {
        return (await breaker.fire(operation)) as T;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === "EOPENBREAKER") {
          const retryAfterMs = Math.max(100, openedAt + options.resetTimeoutMs - Date.now());
          throw new BreakerOpenError(
            "storage unavailable; retry with the same idempotency key",
            retryAfterMs,
            { cause: err },
          );
        }
        if (code === "ETIMEDOUT" && err instanceof Error && /^Timed out after/.test(err.message)) {
          throw new DbTimeoutError(
            "storage did not answer in time; the write may still complete: retry with the same idempotency key",
            1_000,
            { cause: err },
          );
        }
        if (isTransientDbError(err)) {
          throw new StorageUnavailableError(
            "storage unavailable; retry with the same idempotency key",
            STORAGE_RETRY_AFTER_MS,
            { cause: err },
          );
        }
        throw err;
      }
    },
    state: () => current,
    onStateChange(listener) {
      listeners.push(listener);
    },
    shutdown: () => breaker.shutdown(),
  };
}
