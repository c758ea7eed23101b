import { readFileSync } from "node:fs";
import { z } from "zod";
import { integer, positiveInt } from "./env-values.js";

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

/** Rate limits per tenant, shared through Redis when it is configured. */
export const rateLimitSection = z
  .object({
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
  .transform((e) => ({
    redisUrl: e.REDIS_URL,
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
