import { Redis } from "ioredis";
import {
  BurstyRateLimiter,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Config, RateLimit } from "../config/index.js";
import { DependencyUnavailableError, RateLimitedError } from "../errors.js";
import type { Logger } from "../observability/logger.js";

/** The window of the burst allowance: `burst` extra records per this many seconds. */
export const BURST_WINDOW_SECONDS = 10;

/** Per-tenant record budgets, shared by every replica through Redis when it is configured. */
export interface TenantRateLimiter {
  /**
   * Takes `records` from the tenant's budget, waiting up to `maxWaitMs` for it to refill.
   * Throws RateLimitedError (with the delay until enough points return) when it would wait
   * longer, or DependencyUnavailableError when Redis is down and the limiter fails closed.
   */
  acquire(tenantId: string, records: number, maxWaitMs: number): Promise<void>;
  /** Where budgets live right now: "redis", "insurance" (Redis down, in-memory) or "memory". */
  backend(): "redis" | "insurance" | "memory";
  /** Starts connecting to Redis (in the background: until it is ready, the insurance applies). */
  connect(): void;
  close(): Promise<void>;
}

/**
 * Builds the limiter. With a Redis URL: rate-limiter-flexible's RateLimiterRedis, so two replicas
 * share one budget per tenant, with an in-memory insurance limiter that takes over the moment
 * Redis errors or is not connected (fail open, per replica) unless `onRedisFailure` is "closed".
 * No call waits on a reconnecting client: the offline queue is off, commands time out after
 * `redisCommandTimeoutMs`, and a client that is not ready is skipped at once. Without Redis: an
 * in-memory limiter, fine for one replica.
 *
 * Each budget is a sustained rate (records per second) plus a burst allowance (extra records per
 * 10 s), as BurstyRateLimiter combines them.
 */
export function createTenantRateLimiter(
  config: Config["rateLimit"],
  logger: Logger,
): TenantRateLimiter {
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        enableOfflineQueue: false,
        commandTimeout: config.redisCommandTimeoutMs,
        connectTimeout: 1_000,
        maxRetriesPerRequest: 0,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        // Built up front by the composition root; connects when the app starts.
        lazyConnect: true,
      })
    : undefined;
  let redisUp = false;
  if (redis) {
    redis.on("ready", () => {
      if (!redisUp) logger.info("redis connected: rate limits are shared across replicas");
      redisUp = true;
    });
    // ioredis emits 'error' on every failed reconnect; one line per outage is enough.
    redis.on("error", (err) => {
      if (redisUp) {
        logger.warn(
          { err: err.message, fallback: config.onRedisFailure },
          config.onRedisFailure === "insurance"
            ? "redis unavailable: in-memory insurance limits in use"
            : "redis unavailable: rate-limited calls fail closed",
        );
      }
      redisUp = false;
    });
    redis.on("close", () => {
      redisUp = false;
    });
  }

  const limiters = new Map<string, BurstyRateLimiter>();
  const limiterFor = (limit: RateLimit): BurstyRateLimiter => {
    const id = `${limit.recordsPerSecond}:${limit.burst}`;
    let limiter = limiters.get(id);
    if (!limiter) {
      const make = (points: number, duration: number, prefix: string): RateLimiterAbstract => {
        const memory = new RateLimiterMemory({ points, duration, keyPrefix: prefix });
        if (!redis) return memory;
        return new RateLimiterRedis({
          storeClient: redis,
          points,
          duration,
          keyPrefix: `pos-ingest:${prefix}`,
          rejectIfRedisNotReady: true,
          ...(config.onRedisFailure === "insurance" && { insuranceLimiter: memory }),
        });
      };
      limiter = new BurstyRateLimiter(
        make(limit.recordsPerSecond, 1, `rate:${id}`) as RateLimiterRedis,
        make(Math.max(limit.burst, 1), BURST_WINDOW_SECONDS, `burst:${id}`) as RateLimiterRedis,
      );
      limiters.set(id, limiter);
    }
    return limiter;
  };

  return {
    async acquire(tenantId, records, maxWaitMs) {
      const limit = config.tenants[tenantId] ?? config.defaults;
      const limiter = limiterFor(limit);
      const deadline = Date.now() + maxWaitMs;
      // A request larger than one second's budget is taken in slices, so a big stream batch
      // still fits through a small limit instead of being refused forever.
      let left = records;
      while (left > 0) {
        const slice = Math.min(left, limit.recordsPerSecond);
        try {
          await limiter.consume(tenantId, slice);
          left -= slice;
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) {
            throw new DependencyUnavailableError("rate limiter unavailable; retry shortly", 1_000, {
              cause: rejection,
            });
          }
          const waitMs = Math.max(1, rejection.msBeforeNext);
          if (Date.now() + waitMs > deadline) throw new RateLimitedError(waitMs);
          await new Promise((r) => setTimeout(r, waitMs));
        }
      }
    },
    backend() {
      if (!redis) return "memory";
      return redisUp ? "redis" : "insurance";
    },
    connect() {
      if (!redis) {
        logger.info("no REDIS_URL: rate limits are in memory, per replica");
        return;
      }
      // A failed attempt is reported by the 'error' listener above, and ioredis keeps retrying.
      redis.connect().catch(() => {});
    },
    async close() {
      if (redis) {
        redis.disconnect();
      }
    },
  };
}
