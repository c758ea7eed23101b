import { readFileSync } from "node:fs";
import { z } from "zod";
import { bool, integer, positiveInt } from "./env-values.js";

/** The database circuit breaker's variables; the shutdown section reuses BREAKER_TIMEOUT_MS. */
export const breakerVariables = z.object({
  BREAKER_TIMEOUT_MS: positiveInt(600_000).default(10_000),
  BREAKER_ERROR_THRESHOLD_PERCENT: positiveInt(100).default(50),
  BREAKER_VOLUME_THRESHOLD: positiveInt(100_000).default(10),
  BREAKER_RESET_TIMEOUT_MS: positiveInt(600_000).default(5_000),
  BREAKER_WINDOW_MS: positiveInt(600_000).default(10_000),
});

/** The database circuit breaker: when it opens, and when it tries again. */
export const breakerSection = breakerVariables.transform((e) => ({
  timeoutMs: e.BREAKER_TIMEOUT_MS,
  errorThresholdPercent: e.BREAKER_ERROR_THRESHOLD_PERCENT,
  volumeThreshold: e.BREAKER_VOLUME_THRESHOLD,
  resetTimeoutMs: e.BREAKER_RESET_TIMEOUT_MS,
  windowMs: e.BREAKER_WINDOW_MS,
}));

/** A tenant's rate limit: sustained records per second, plus a burst allowance per 10 s. */
const rateLimit = z.object({
  recordsPerSecond: z.number().int().min(1),
  burst: z.number().int().min(0),
});
const tenantOverrides = z.record(z.string(), rateLimit);
const OVERRIDES_FORM = 'expected JSON like {"acme":{"recordsPerSecond":5000,"burst":20000}}';

/** A tenant's rate limit: sustained records per second, plus a burst allowance per 10 s. */
export type RateLimit = Readonly<z.output<typeof rateLimit>>;

/** A Redis node or sentinel to connect to. */
export interface RedisHost {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the shared rate-limit budgets live: one Redis server (or a proxy) by URL, a Redis Cluster
 * found from seed nodes, or the master a set of Sentinels names.
 */
export type RedisTarget =
  | { readonly kind: "standalone"; readonly url: string }
  | {
      readonly kind: "cluster";
      readonly nodes: readonly RedisHost[];
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly tls: boolean;
    }
  | {
      readonly kind: "sentinel";
      readonly sentinels: readonly RedisHost[];
      readonly name: string;
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly sentinelPassword: string | undefined;
      readonly tls: boolean;
    };

const HOSTS_FORM = "expected comma-separated host:port, like redis-0:6379,redis-1:6379";

/** `host:port,host:port` (an IPv6 host in brackets: `[::1]:6379`), at least one. */
const hostList = z.string().transform((text, ctx) => {
  const hosts: RedisHost[] = [];
  for (const item of text.split(",")) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `${HOSTS_FORM} (got ${JSON.stringify(item)})` });
      return z.NEVER;
    }
    hosts.push({ host: (m[1] as string).replace(/^\[(.*)\]$/, "$1"), port });
  }
  return hosts;
});

/** The variables that choose a Redis; at most one may be set. */
const REDIS_CHOICES = ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"] as const;

/** Rate limits per tenant, shared through Redis when it is configured. */
export const rateLimitSection = z
  .object({
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "expected redis://host:port or rediss://host:port")
      .optional(),
    REDIS_CLUSTER_NODES: hostList.optional(),
    REDIS_SENTINELS: hostList.optional(),
    REDIS_SENTINEL_NAME: z.string().min(1).optional(),
    REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD: z.string().min(1).optional(),
    REDIS_TLS: bool.default(false),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt(60_000).default(250),
    RATE_LIMIT_RECORDS_PER_SECOND: positiveInt(100_000_000).default(2_000),
    RATE_LIMIT_BURST: integer(0, 1_000_000_000).default(10_000),
    RATE_LIMIT_TENANT_OVERRIDES: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (!text) return {};
        try {
          return tenantOverrides.parse(JSON.parse(text));
        } catch {
          ctx.addIssue({ code: "custom", message: OVERRIDES_FORM });
          return z.NEVER;
        }
      }),
    // The file (a mounted ConfigMap, say) is read once, at start.
    RATE_LIMIT_TENANT_OVERRIDES_FILE: z
      .string()
      .min(1)
      .optional()
      .transform((path, ctx) => {
        if (!path) return {};
        try {
          return tenantOverrides.parse(JSON.parse(readFileSync(path, "utf8")));
        } catch (err) {
          const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
          ctx.addIssue({ code: "custom", message: `${path}: ${OVERRIDES_FORM} (${why})` });
          return z.NEVER;
        }
      }),
    RATE_LIMIT_ON_REDIS_FAILURE: z.enum(["insurance", "closed"]).default("insurance"),
    RATE_LIMIT_MAX_STREAM_WAIT_MS: integer(0, 600_000).default(5_000),
  })
  .transform((e, ctx) => ({
    redis: redisTarget(e, ctx),
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    defaults: {
      recordsPerSecond: e.RATE_LIMIT_RECORDS_PER_SECOND,
      burst: e.RATE_LIMIT_BURST,
    } as RateLimit,
    // The variable wins over the file, per tenant.
    tenants: {
      ...e.RATE_LIMIT_TENANT_OVERRIDES_FILE,
      ...e.RATE_LIMIT_TENANT_OVERRIDES,
    } as Readonly<Record<string, RateLimit>>,
    onRedisFailure: e.RATE_LIMIT_ON_REDIS_FAILURE,
    maxStreamWaitMs: e.RATE_LIMIT_MAX_STREAM_WAIT_MS,
  }));

type RedisVariables = {
  REDIS_URL?: string | undefined;
  REDIS_CLUSTER_NODES?: RedisHost[] | undefined;
  REDIS_SENTINELS?: RedisHost[] | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
  REDIS_USERNAME?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_TLS: boolean;
};

/**
 * The one Redis the variables choose, or undefined for none. A variable that belongs to another
 * choice (a sentinel name without sentinels, credentials beside a URL that carries its own) is an
 * error naming it rather than being silently ignored.
 */
function redisTarget(e: RedisVariables, ctx: z.RefinementCtx): RedisTarget | undefined {
  const problem = (variable: string, message: string) => {
    ctx.addIssue({ code: "custom", path: [variable], message });
    return undefined;
  };
  const chosen = REDIS_CHOICES.filter((name) => e[name] !== undefined);
  if (chosen.length > 1) {
    return problem(
      chosen[1] as string,
      `set only one of ${REDIS_CHOICES.join(", ")}; both ${chosen[0]} and ${chosen[1]} are set`,
    );
  }
  if (e.REDIS_SENTINELS === undefined) {
    if (e.REDIS_SENTINEL_NAME !== undefined) {
      return problem("REDIS_SENTINEL_NAME", "only used with REDIS_SENTINELS, which is not set");
    }
    if (e.REDIS_SENTINEL_PASSWORD !== undefined) {
      return problem("REDIS_SENTINEL_PASSWORD", "only used with REDIS_SENTINELS, which is not set");
    }
  }
  if (e.REDIS_CLUSTER_NODES === undefined && e.REDIS_SENTINELS === undefined) {
    // A URL carries its own credentials and scheme (rediss:// for TLS): one place for each.
    for (const name of ["REDIS_USERNAME", "REDIS_PASSWORD"] as const) {
      if (e[name] !== undefined) {
        return problem(
          name,
          e.REDIS_URL !== undefined
            ? "not used with REDIS_URL: put the credentials in the URL (redis://user:password@host:port)"
            : "only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS, neither of which is set",
        );
      }
    }
    if (e.REDIS_TLS) {
      return problem(
        "REDIS_TLS",
        e.REDIS_URL !== undefined
          ? "not used with REDIS_URL: use a rediss:// URL for TLS"
          : "only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS, neither of which is set",
      );
    }
  }
  const credentials = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, tls: e.REDIS_TLS };
  if (e.REDIS_URL !== undefined) return { kind: "standalone", url: e.REDIS_URL };
  if (e.REDIS_CLUSTER_NODES !== undefined) {
    return { kind: "cluster", nodes: e.REDIS_CLUSTER_NODES, ...credentials };
  }
  if (e.REDIS_SENTINELS !== undefined) {
    if (e.REDIS_SENTINEL_NAME === undefined) {
      return problem("REDIS_SENTINEL_NAME", "required with REDIS_SENTINELS: the master's name");
    }
    return {
      kind: "sentinel",
      sentinels: e.REDIS_SENTINELS,
      name: e.REDIS_SENTINEL_NAME,
      sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
      ...credentials,
    };
  }
  return undefined;
}
