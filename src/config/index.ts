import type { z } from "zod";
import { authSection } from "./auth.js";
import { clusterSection } from "./cluster.js";
import { databaseSection, migrateOnStartSection } from "./database.js";
import { ConfigError, configError, type DeepReadonly, deepFreeze } from "./env-values.js";
import { batchingSection, limitsSection } from "./ingest.js";
import { healthSection, logLevelSection, metricsSection } from "./observability.js";
import { breakerSection, rateLimitSection } from "./resilience.js";
import { connectionsSection, grpcSection, streamsSection, tlsSection } from "./server.js";
import { shutdownSection } from "./shutdown.js";

export type { DatabaseConfig } from "./database.js";
export type { RateLimit } from "./resilience.js";
export { ConfigError };

/**
 * Every part of the configuration, each a schema from the environment variables it reads (each
 * documented in the README's configuration table; keep the two in step) to the value the
 * components take.
 */
const sections = {
  grpc: grpcSection,
  database: databaseSection,
  migrateOnStart: migrateOnStartSection,
  logLevel: logLevelSection,
  limits: limitsSection,
  batching: batchingSection,
  auth: authSection,
  metrics: metricsSection,
  health: healthSection,
  tls: tlsSection,
  streams: streamsSection,
  connections: connectionsSection,
  breaker: breakerSection,
  rateLimit: rateLimitSection,
  shutdown: shutdownSection,
  cluster: clusterSection,
} as const;

type Sections = typeof sections;

/** A part of the configuration, by name. */
export type SectionName = keyof Sections;

/** The parsed, frozen configuration that `createApp` takes: inferred from the sections. */
export type Config = { readonly [K in SectionName]: DeepReadonly<z.output<Sections[K]>> };

/**
 * Parses the named sections of the environment. Fails naming every offending variable (of all
 * the sections at once) and the form it expects, rather than letting a bad value surface later
 * as a confusing runtime error. Variables of other sections are not looked at.
 */
export function loadConfigSections<const K extends SectionName>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Pick<Config, K> {
  const issues: z.core.$ZodIssue[] = [];
  const parsed: Partial<Record<K, unknown>> = {};
  for (const name of names) {
    const result = sections[name].safeParse(env);
    if (result.success) parsed[name] = result.data;
    else issues.push(...result.error.issues);
  }
  if (issues.length > 0) throw configError(issues);
  return deepFreeze(parsed) as Pick<Config, K>;
}

/** Parses the whole configuration once, at start-up (see `loadConfigSections`). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfigSections(Object.keys(sections) as SectionName[], env);
}

/**
 * Only the database's part, for the commands that need nothing else (`keys`, `migrate`,
 * `backfill-ledger`): a bad value elsewhere (a port, a TLS file) does not stop them.
 */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): Config["database"] {
  return loadConfigSections(["database"], env).database;
}
