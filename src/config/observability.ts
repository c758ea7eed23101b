import { z } from "zod";
import { port, positiveInt } from "./env-values.js";

/** The log level (pino's names, or `silent`). */
export const logLevelSection = z
  .object({
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
  })
  .transform((e): string => e.LOG_LEVEL);

/** The metrics sidecar: where it listens, how many label values it keeps, the build it reports. */
export const metricsSection = z
  .object({
    METRICS_HOST: z.string().min(1).default("0.0.0.0"),
    METRICS_PORT: port.default(9464),
    METRICS_MAX_TENANT_LABELS: positiveInt(100_000).default(1000),
    METRICS_MAX_SOURCE_LABELS: positiveInt(10_000).default(100),
    GIT_COMMIT: z.string().default("unknown"),
  })
  .transform((e) => ({
    host: e.METRICS_HOST,
    port: e.METRICS_PORT,
    maxTenantLabels: e.METRICS_MAX_TENANT_LABELS,
    maxSourceLabels: e.METRICS_MAX_SOURCE_LABELS,
    commit: e.GIT_COMMIT,
  }));

/** The signals health is derived from: the database ping and the event loop's delay. */
export const healthSection = z
  .object({
    HEALTH_DB_PING_INTERVAL_MS: positiveInt(600_000).default(5000),
    HEALTH_DB_PING_TIMEOUT_MS: positiveInt(600_000).default(2000),
    LIVENESS_MAX_EVENT_LOOP_DELAY_MS: positiveInt(600_000).default(5000),
  })
  .transform((e) => ({
    dbPingIntervalMs: e.HEALTH_DB_PING_INTERVAL_MS,
    dbPingTimeoutMs: e.HEALTH_DB_PING_TIMEOUT_MS,
    maxEventLoopDelayMs: e.LIVENESS_MAX_EVENT_LOOP_DELAY_MS,
  }));
