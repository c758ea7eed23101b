import { readFileSync } from "node:fs";
import { z } from "zod";
import { trustedProxies } from "./auth/client-address.js";
import { DEFAULT_MAX_LINE_ITEMS, DEFAULT_MAX_MESSAGE_BYTES } from "./contract/wire.js";
import {
  ABORT_ANSWER_MS,
  CLOSE_RESERVE_MS,
  shutdownWorstCaseMs,
} from "./lifecycle/shutdown-budget.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");
// Whole decimal digits only: number coercion would read "" as 0 and "0x50" as 80, letting an
// empty `GRPC_PORT=` in an env file silently pick a random port.
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const port = integer(0, 65535);
const positiveInt = (max: number) => integer(1, max);

/**
 * The environment variables pos-ingest reads, with their defaults. Each entry is documented in
 * the README's configuration table; keep the two in step.
 */
const envSchema = z.object({
  GRPC_HOST: z.string().min(1).default("0.0.0.0"),
  GRPC_PORT: port.default(50051),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "expected postgres://user@host:port/database")
    .optional(),
  PGLITE_DATA_DIR: z.string().min(1).default(".data/pglite"),
  DB_POOL_MAX: positiveInt(1000).default(10),
  MIGRATE_ON_START: bool.default(true),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  MAX_MESSAGE_BYTES: positiveInt(64 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
  MAX_LINE_ITEMS: positiveInt(100_000).default(DEFAULT_MAX_LINE_ITEMS),
  MAX_FUTURE_SKEW_SECONDS: integer(0, 31_536_000).default(300),
  STREAM_BATCH_SIZE: positiveInt(10_000).default(500),
  UNARY_BATCH_SIZE: positiveInt(10_000).default(256),
  UNARY_MAX_CONCURRENT_WRITES: positiveInt(100).default(4),
  AUTH_CACHE_TTL_SECONDS: integer(0, 3600).default(30),
  AUTH_CACHE_MAX_KEYS: positiveInt(10_000_000).default(10_000),
  AUTH_PEER_FAILURE_BURST: positiveInt(1_000_000).default(20),
  AUTH_PEER_FAILURES_PER_MINUTE: positiveInt(1_000_000).default(60),
  AUTH_TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((text, ctx) => {
      const entries = text
        .split(",")
        .map((e) => e.trim())
        .filter((e) => e !== "");
      try {
        trustedProxies(entries);
      } catch (err) {
        ctx.addIssue({
          code: "custom",
          message: `expected addresses or CIDR blocks separated by commas, like 10.0.0.0/8,fd00::/8 (${(err as Error).message})`,
        });
        return z.NEVER;
      }
      return entries;
    }),
  DEV_API_KEY_ON_EMPTY: bool.default(true),
  METRICS_HOST: z.string().min(1).default("0.0.0.0"),
  METRICS_PORT: port.default(9464),
  METRICS_MAX_TENANT_LABELS: positiveInt(100_000).default(1000),
  METRICS_MAX_SOURCE_LABELS: positiveInt(10_000).default(100),
  HEALTH_DB_PING_INTERVAL_MS: positiveInt(600_000).default(5000),
  HEALTH_DB_PING_TIMEOUT_MS: positiveInt(600_000).default(2000),
  LIVENESS_MAX_EVENT_LOOP_DELAY_MS: positiveInt(600_000).default(5000),
  SHUTDOWN_GRACE_MS: integer(0, 600_000).default(5000),
  SHUTDOWN_DEADLINE_MS: integer(0, 600_000).default(20_000),
  SHUTDOWN_BUDGET_MS: positiveInt(3_600_000).default(40_000),
  GIT_COMMIT: z.string().default("unknown"),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  TLS_RELOAD_INTERVAL_MS: positiveInt(86_400_000).default(60_000),
  MAX_STREAM_RECORDS: positiveInt(1_000_000_000).default(10_000_000),
  MAX_STREAM_DURATION_MS: positiveInt(86_400_000).default(3_600_000),
  STREAM_IDLE_TIMEOUT_MS: positiveInt(86_400_000).default(30_000),
  MAX_STREAMS_PER_CONNECTION: positiveInt(10_000).default(100),
  MAX_STREAMS_PER_TENANT: positiveInt(100_000).default(32),
  KEEPALIVE_TIME_MS: positiveInt(86_400_000).default(60_000),
  KEEPALIVE_TIMEOUT_MS: positiveInt(86_400_000).default(20_000),
  MAX_CONNECTION_AGE_MS: positiveInt(864_000_000).default(1_800_000),
  BREAKER_TIMEOUT_MS: positiveInt(600_000).default(10_000),
  BREAKER_ERROR_THRESHOLD_PERCENT: positiveInt(100).default(50),
  BREAKER_VOLUME_THRESHOLD: positiveInt(100_000).default(10),
  BREAKER_RESET_TIMEOUT_MS: positiveInt(600_000).default(5_000),
  BREAKER_WINDOW_MS: positiveInt(600_000).default(10_000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected redis://host:port or rediss://host:port")
    .optional(),
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
        ctx.addIssue({
          code: "custom",
          message: 'expected JSON like {"acme":{"recordsPerSecond":5000,"burst":20000}}',
        });
        return z.NEVER;
      }
    }),
  RATE_LIMIT_TENANT_OVERRIDES_FILE: z.string().min(1).optional(),
  RATE_LIMIT_ON_REDIS_FAILURE: z.enum(["insurance", "closed"]).default("insurance"),
  RATE_LIMIT_MAX_STREAM_WAIT_MS: integer(0, 600_000).default(5_000),
});

const tenantOverrides = z.record(
  z.string(),
  z.object({
    recordsPerSecond: z.number().int().min(1),
    burst: z.number().int().min(0),
  }),
);

/** A tenant's rate limit: sustained records per second, plus a burst allowance per 10 s. */
export interface RateLimit {
  readonly recordsPerSecond: number;
  readonly burst: number;
}

/** The parsed, frozen configuration that `createApp` takes. */
export interface Config {
  readonly grpc: { readonly host: string; readonly port: number; readonly maxMessageBytes: number };
  readonly database:
    | { readonly kind: "postgres"; readonly url: string; readonly poolMax: number }
    | { readonly kind: "pglite"; readonly dataDir: string | undefined };
  readonly migrateOnStart: boolean;
  readonly logLevel: string;
  readonly limits: {
    readonly maxLineItems: number;
    readonly maxFutureSkewSeconds: number;
  };
  readonly batching: {
    readonly streamBatchSize: number;
    readonly unaryBatchSize: number;
    readonly unaryMaxConcurrentWrites: number;
  };
  readonly auth: {
    readonly cacheTtlSeconds: number;
    readonly devKeyOnEmpty: boolean;
    /** Valid keys cached at once (unknown keys have a separate, fixed space). */
    readonly cacheMaxKeys: number;
    /** Lookups of keys not known valid one address may fail at once, before it is throttled. */
    readonly peerFailureBurst: number;
    /** How fast that budget refills. */
    readonly peerFailuresPerMinute: number;
    /** Proxies whose `x-forwarded-for` is believed for the client's address. */
    readonly trustedProxies: readonly string[];
  };
  readonly metrics: {
    readonly host: string;
    readonly port: number;
    readonly maxTenantLabels: number;
    readonly maxSourceLabels: number;
    readonly commit: string;
  };
  readonly health: {
    readonly dbPingIntervalMs: number;
    readonly dbPingTimeoutMs: number;
    readonly maxEventLoopDelayMs: number;
  };
  readonly tls:
    | {
        readonly certFile: string;
        readonly keyFile: string;
        /** When set, clients must present a certificate signed by this CA (mutual TLS). */
        readonly clientCaFile: string | undefined;
        readonly reloadIntervalMs: number;
      }
    | undefined;
  readonly streams: {
    readonly maxRecords: number;
    readonly maxDurationMs: number;
    readonly idleTimeoutMs: number;
    readonly maxPerConnection: number;
    readonly maxPerTenant: number;
  };
  readonly connections: {
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
    readonly maxAgeMs: number;
  };
  readonly breaker: {
    readonly timeoutMs: number;
    readonly errorThresholdPercent: number;
    readonly volumeThreshold: number;
    readonly resetTimeoutMs: number;
    readonly windowMs: number;
  };
  readonly rateLimit: {
    readonly redisUrl: string | undefined;
    readonly redisCommandTimeoutMs: number;
    readonly defaults: RateLimit;
    readonly tenants: Readonly<Record<string, RateLimit>>;
    readonly onRedisFailure: "insurance" | "closed";
    readonly maxStreamWaitMs: number;
  };
  readonly shutdown: {
    /** How long to keep serving after readiness flips, so load balancers stop sending. */
    readonly graceMs: number;
    /** How long in-flight calls may take to finish after new calls stop being accepted. */
    readonly deadlineMs: number;
  };
}

/** Thrown when the environment does not parse; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const databaseSchema = envSchema.pick({
  DATABASE_URL: true,
  PGLITE_DATA_DIR: true,
  DB_POOL_MAX: true,
});

function databaseOf(e: z.infer<typeof databaseSchema>): Config["database"] {
  return e.DATABASE_URL
    ? { kind: "postgres", url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX }
    : { kind: "pglite", dataDir: e.PGLITE_DATA_DIR };
}

/**
 * Only the database's part of the configuration, for the commands that need nothing else
 * (`keys`, `migrate`, `backfill-ledger`): a bad value elsewhere (a port, a TLS file) does not
 * stop them. Same schema, same errors, as `loadConfig`.
 */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): Config["database"] {
  const parsed = databaseSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return deepFreeze(databaseOf(parsed.data));
}

/**
 * Parses the environment once at start-up. Fails fast, naming each offending variable and the
 * form it expects, rather than letting a bad value surface later as a confusing runtime error.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const e = parsed.data;
  checkShutdownBudget(e);
  return deepFreeze({
    grpc: { host: e.GRPC_HOST, port: e.GRPC_PORT, maxMessageBytes: e.MAX_MESSAGE_BYTES },
    database: databaseOf(e),
    migrateOnStart: e.MIGRATE_ON_START,
    logLevel: e.LOG_LEVEL,
    limits: { maxLineItems: e.MAX_LINE_ITEMS, maxFutureSkewSeconds: e.MAX_FUTURE_SKEW_SECONDS },
    batching: {
      streamBatchSize: e.STREAM_BATCH_SIZE,
      unaryBatchSize: e.UNARY_BATCH_SIZE,
      unaryMaxConcurrentWrites: e.UNARY_MAX_CONCURRENT_WRITES,
    },
    auth: {
      cacheTtlSeconds: e.AUTH_CACHE_TTL_SECONDS,
      devKeyOnEmpty: e.DEV_API_KEY_ON_EMPTY,
      cacheMaxKeys: e.AUTH_CACHE_MAX_KEYS,
      peerFailureBurst: e.AUTH_PEER_FAILURE_BURST,
      peerFailuresPerMinute: e.AUTH_PEER_FAILURES_PER_MINUTE,
      trustedProxies: e.AUTH_TRUSTED_PROXIES,
    },
    metrics: {
      host: e.METRICS_HOST,
      port: e.METRICS_PORT,
      maxTenantLabels: e.METRICS_MAX_TENANT_LABELS,
      maxSourceLabels: e.METRICS_MAX_SOURCE_LABELS,
      commit: e.GIT_COMMIT,
    },
    health: {
      dbPingIntervalMs: e.HEALTH_DB_PING_INTERVAL_MS,
      dbPingTimeoutMs: e.HEALTH_DB_PING_TIMEOUT_MS,
      maxEventLoopDelayMs: e.LIVENESS_MAX_EVENT_LOOP_DELAY_MS,
    },
    shutdown: { graceMs: e.SHUTDOWN_GRACE_MS, deadlineMs: e.SHUTDOWN_DEADLINE_MS },
    tls: tlsConfig(e),
    streams: {
      maxRecords: e.MAX_STREAM_RECORDS,
      maxDurationMs: e.MAX_STREAM_DURATION_MS,
      idleTimeoutMs: e.STREAM_IDLE_TIMEOUT_MS,
      maxPerConnection: e.MAX_STREAMS_PER_CONNECTION,
      maxPerTenant: e.MAX_STREAMS_PER_TENANT,
    },
    connections: {
      keepaliveTimeMs: e.KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: e.KEEPALIVE_TIMEOUT_MS,
      maxAgeMs: e.MAX_CONNECTION_AGE_MS,
    },
    breaker: {
      timeoutMs: e.BREAKER_TIMEOUT_MS,
      errorThresholdPercent: e.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: e.BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: e.BREAKER_RESET_TIMEOUT_MS,
      windowMs: e.BREAKER_WINDOW_MS,
    },
    rateLimit: {
      redisUrl: e.REDIS_URL,
      redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      defaults: { recordsPerSecond: e.RATE_LIMIT_RECORDS_PER_SECOND, burst: e.RATE_LIMIT_BURST },
      // The file (a mounted ConfigMap, say) is read once at start; the variable wins per tenant.
      tenants: {
        ...overridesFile(e.RATE_LIMIT_TENANT_OVERRIDES_FILE),
        ...e.RATE_LIMIT_TENANT_OVERRIDES,
      },
      onRedisFailure: e.RATE_LIMIT_ON_REDIS_FAILURE,
      maxStreamWaitMs: e.RATE_LIMIT_MAX_STREAM_WAIT_MS,
    },
  } satisfies Config);
}

/**
 * The platform kills the process SHUTDOWN_BUDGET_MS after SIGTERM (Kubernetes'
 * terminationGracePeriodSeconds less any preStop sleep, `docker stop -t`), so timings whose
 * worst case is longer would let it kill a drain that was still within its own deadlines.
 */
function checkShutdownBudget(e: z.infer<typeof envSchema>): void {
  const worstCaseMs = shutdownWorstCaseMs({
    graceMs: e.SHUTDOWN_GRACE_MS,
    deadlineMs: e.SHUTDOWN_DEADLINE_MS,
    breakerTimeoutMs: e.BREAKER_TIMEOUT_MS,
  });
  if (worstCaseMs <= e.SHUTDOWN_BUDGET_MS) return;
  throw new ConfigError(
    `invalid configuration:\n  SHUTDOWN_BUDGET_MS: shutdown can take ${worstCaseMs} ms ` +
      `(SHUTDOWN_GRACE_MS ${e.SHUTDOWN_GRACE_MS} + SHUTDOWN_DEADLINE_MS ${e.SHUTDOWN_DEADLINE_MS} ` +
      `+ ${ABORT_ANSWER_MS} to answer aborted streams + BREAKER_TIMEOUT_MS ${e.BREAKER_TIMEOUT_MS} for a write ` +
      `in flight + ${CLOSE_RESERVE_MS} to close), more than the budget of ${e.SHUTDOWN_BUDGET_MS} ms: lower ` +
      "one of them, or raise SHUTDOWN_BUDGET_MS together with the platform's kill timeout",
  );
}

function overridesFile(path: string | undefined): Record<string, RateLimit> {
  if (!path) return {};
  try {
    return tenantOverrides.parse(JSON.parse(readFileSync(path, "utf8")));
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(
      `invalid configuration:\n  RATE_LIMIT_TENANT_OVERRIDES_FILE: ${path}: expected JSON like {"acme":{"recordsPerSecond":5000,"burst":20000}} (${why})`,
    );
  }
}

function tlsConfig(e: z.infer<typeof envSchema>): Config["tls"] {
  if (!e.TLS_CERT_FILE && !e.TLS_KEY_FILE) {
    if (e.TLS_CLIENT_CA_FILE) {
      throw new ConfigError(
        "invalid configuration:\n  TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE and TLS_KEY_FILE",
      );
    }
    return undefined;
  }
  if (!e.TLS_CERT_FILE || !e.TLS_KEY_FILE) {
    throw new ConfigError(
      "invalid configuration:\n  TLS_CERT_FILE, TLS_KEY_FILE: set both or neither",
    );
  }
  return {
    certFile: e.TLS_CERT_FILE,
    keyFile: e.TLS_KEY_FILE,
    clientCaFile: e.TLS_CLIENT_CA_FILE,
    reloadIntervalMs: e.TLS_RELOAD_INTERVAL_MS,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
