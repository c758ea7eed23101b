import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Config, RateLimit } from "../config/index.js";
import { DependencyUnavailableError, RateLimitedError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { type BucketKind, bucketKeyPrefix, tenantBucketKey } from "./bucket-keys.js";
import { createRedisClient, describeRedisTarget, type RedisStore } from "./redis-client.js";

/** The window of the burst allowance: `burst` extra records per this many seconds. */
export const BURST_WINDOW_SECONDS = 10;

/**
 * How long after a failed Redis command a good one counts as Redis being back. While one cluster
 * node is dead, calls for its slots fail and calls for the others succeed, interleaved; without
 * this the backend would flap between "redis" and "insurance" (and log each flap) until the node
 * returns.
 */
export const REDIS_RECOVERY_QUIET_MS = 1_000;

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
 * Builds the limiter. With Redis configured (one server, a Cluster or Sentinels):
 * rate-limiter-flexible's RateLimiterRedis, so every replica shares one budget per tenant, with an
 * in-memory insurance limiter that takes over the moment a Redis command fails or the client is
 * not connected (fail open, per replica) unless `onRedisFailure` is "closed". No call waits on a
 * reconnecting client: the offline queue is off, commands time out after `redisCommandTimeoutMs`,
 * and a client that is not ready is skipped at once. Without Redis: an in-memory limiter, fine
 * for one replica.
 *
 * Each budget is a sustained rate (records per second) plus a burst allowance (extra records per
 * 10 s), as BurstyRateLimiter combines them. A tenant's buckets are keyed by its hash tag (see
 * bucket-keys.ts), so on a Cluster both live in one slot.
 */
export function createTenantRateLimiter(
  config: Config["rateLimit"],
  logger: Logger,
): TenantRateLimiter {
  const redis = config.redis
    ? createRedisClient(config.redis, config.redisCommandTimeoutMs)
    : undefined;

  // Whether Redis is answering. Connection events alone do not tell: a Cluster stays "ready"
  // while one of its nodes is dead, so every command's outcome counts too.
  let redisUp = false;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  // Set by close(): the disconnect it makes is no outage to report.
  let closing = false;
  const up = () => {
    if (!redisUp && config.redis) {
      logger.info(
        { redis: describeRedisTarget(config.redis) },
        "redis connected: rate limits are shared across replicas",
      );
    }
    redisUp = true;
  };
  // ioredis reports every failed reconnect, and a dead cluster node fails every call for its
  // slots; one line per outage is enough.
  const down = (err: unknown) => {
    if (redisUp && !closing) {
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), fallback: config.onRedisFailure },
        config.onRedisFailure === "insurance"
          ? "redis unavailable: in-memory insurance limits in use"
          : "redis unavailable: rate-limited calls fail closed",
      );
    }
    redisUp = false;
  };
  const succeeded = () => {
    if (redisUp || Date.now() - lastFailureAt >= REDIS_RECOVERY_QUIET_MS) up();
  };
  const failed = (err: unknown) => {
    lastFailureAt = Date.now();
    down(err);
  };
  if (redis) {
    redis.on("ready", up);
    redis.on("error", down);
    // A server that dies cleanly closes the socket without an error: the close is the outage.
    redis.on("close", () => down(new Error("connection closed")));
  }

  /** A limit's buckets in Redis (when configured) and in memory (its insurance, or the store). */
  interface Limiters {
    readonly shared: BurstyRateLimiter | undefined;
    readonly memory: BurstyRateLimiter;
  }
  const limiters = new Map<string, Limiters>();
  const limitersFor = (limit: RateLimit): Limiters => {
    const id = `${limit.recordsPerSecond}:${limit.burst}`;
    let found = limiters.get(id);
    if (!found) {
      const points = { rate: limit.recordsPerSecond, burst: Math.max(limit.burst, 1) };
      const duration = { rate: 1, burst: BURST_WINDOW_SECONDS };
      const memory = (kind: BucketKind) =>
        new RateLimiterMemory({
          points: points[kind],
          duration: duration[kind],
          keyPrefix: bucketKeyPrefix(kind, limit),
        });
      const shared = (store: RedisStore, kind: BucketKind) =>
        new RateLimiterRedis({
          storeClient: store,
          points: points[kind],
          duration: duration[kind],
          keyPrefix: bucketKeyPrefix(kind, limit),
          rejectIfRedisNotReady: true,
        });
      found = {
        // The insurance is applied here rather than through the library's insuranceLimiter
        // option, so that each call tells which store answered it (see `redisUp`).
        shared: redis
          ? new BurstyRateLimiter(shared(redis, "rate"), shared(redis, "burst"))
          : undefined,
        memory: new BurstyRateLimiter(memory("rate"), memory("burst")),
      };
      limiters.set(id, found);
    }
    return found;
  };

  /** Consumes from Redis, or from memory when Redis fails; rejects with a RateLimiterRes. */
  const consume = async (limit: RateLimit, key: string, points: number): Promise<void> => {
    const { shared, memory } = limitersFor(limit);
    if (!shared) {
      await memory.consume(key, points);
      return;
    }
    try {
      await shared.consume(key, points);
      succeeded();
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        succeeded();
        throw rejection;
      }
      failed(rejection);
      if (config.onRedisFailure !== "insurance") {
        throw new DependencyUnavailableError("rate limiter unavailable; retry shortly", 1_000, {
          cause: rejection,
        });
      }
      await memory.consume(key, points);
    }
  };

  return {
    async acquire(tenantId, records, maxWaitMs) {
      const limit = config.tenants[tenantId] ?? config.defaults;
      const key = tenantBucketKey(tenantId);
      const deadline = Date.now() + maxWaitMs;
      // A request larger than one second's budget is taken in slices, so a big stream batch
      // still fits through a small limit instead of being refused forever.
      let left = records;
      while (left > 0) {
        const slice = Math.min(left, limit.recordsPerSecond);
        try {
          await consume(limit, key, slice);
          left -= slice;
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
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
        logger.info(
          "no REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS: rate limits are in memory, per replica",
        );
        return;
      }
      // A failed attempt is reported by the 'error' listener above, and ioredis keeps retrying.
      redis.connect().catch(() => {});
    },
    async close() {
      closing = true;
      redis?.disconnect();
    },
  };
}
