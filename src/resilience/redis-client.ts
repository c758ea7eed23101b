import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { RedisTarget } from "../config/resilience.js";

/** The client rate-limiter-flexible's RateLimiterRedis is given: one server or a whole cluster. */
export type RedisStore = Redis | Cluster;

/** How long a reconnecting client waits between attempts: soon at first, at most 2 s. */
const retryDelay = (attempt: number) => Math.min(attempt * 200, 2_000);

/**
 * Builds the ioredis client for `target`, not yet connected (`connect()` is the app's start).
 *
 * Every kind fails fast rather than queueing: no offline queue, no retry of a failed command,
 * each command bounded by `commandTimeoutMs`, so a rate-limited call never waits on a Redis that
 * is away — the limiter answers from its insurance instead. For a cluster that also means no
 * delayed retry on a lost node or CLUSTERDOWN (ioredis would wait 100 ms a time, up to 16
 * times); MOVED and ASK redirections, which are answered at once, are still followed.
 */
export function createRedisClient(target: RedisTarget, commandTimeoutMs: number): RedisStore {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: retryDelay,
    // Built up front by the composition root; connects when the app starts.
    lazyConnect: true,
  };
  switch (target.kind) {
    case "standalone":
      return new Redis(target.url, common);
    case "sentinel":
      return new Redis({
        ...common,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.name,
        username: target.username,
        password: target.password,
        sentinelPassword: target.sentinelPassword,
        sentinelRetryStrategy: retryDelay,
        ...(target.tls && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
      });
    case "cluster":
      return new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: false,
          lazyConnect: true,
          clusterRetryStrategy: retryDelay,
          retryDelayOnFailover: 0,
          retryDelayOnClusterDown: 0,
          retryDelayOnTryAgain: 0,
          redisOptions: {
            commandTimeout: commandTimeoutMs,
            connectTimeout: 1_000,
            maxRetriesPerRequest: 0,
            username: target.username,
            password: target.password,
            ...(target.tls && { tls: {} }),
          },
        },
      );
  }
}

/** Where the client points, for the log: hosts and kind, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  switch (target.kind) {
    case "standalone": {
      const url = new URL(target.url);
      return `${url.protocol}//${url.host}`;
    }
    case "cluster":
      return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
    case "sentinel":
      return `sentinel master ${target.name} via ${target.sentinels.map((n) => `${n.host}:${n.port}`).join(",")}`;
  }
}
