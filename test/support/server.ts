import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import type { IngestService } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type App, createApp } from "../../src/app.js";
import { createApiKey } from "../../src/auth/key-service.js";
import type { Config } from "../../src/config/index.js";
import type { Logger } from "../../src/observability/logger.js";
import { createDatabase, type QueryObserver } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { connectIngest } from "./connect-client.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { trackRunning } from "./leaks.js";
import { testLogger } from "./log-lines.js";

/** A config literal with test-friendly defaults: ephemeral port, quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    grpc: { host: "127.0.0.1", port: 0, maxMessageBytes: 1024 * 1024 },
    database: { kind: "pglite", dataDir: undefined },
    migrateOnStart: true,
    logLevel: "silent",
    limits: { maxLineItems: 5000, maxFutureSkewSeconds: 300 },
    batching: { streamBatchSize: 500, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
    // A budget no ordinary test of bad keys comes near; the flood test sets its own.
    auth: {
      cacheTtlSeconds: 30,
      devKeyOnEmpty: false,
      cacheMaxKeys: 10_000,
      peerFailureBurst: 1_000,
      peerFailuresPerMinute: 60_000,
      trustedProxies: [],
    },
    metrics: {
      host: "127.0.0.1",
      port: 0,
      maxTenantLabels: 1000,
      maxSourceLabels: 100,
      commit: "test",
    },
    health: { dbPingIntervalMs: 200, dbPingTimeoutMs: 500, maxEventLoopDelayMs: 5000 },
    shutdown: { graceMs: 0, deadlineMs: 2000 },
    tls: undefined,
    streams: {
      maxRecords: 10_000_000,
      maxDurationMs: 3_600_000,
      idleTimeoutMs: 30_000,
      maxPerConnection: 100,
      maxPerTenant: 32,
    },
    connections: { keepaliveTimeMs: 60_000, keepaliveTimeoutMs: 20_000, maxAgeMs: 1_800_000 },
    breaker: {
      timeoutMs: 10_000,
      errorThresholdPercent: 50,
      volumeThreshold: 10,
      resetTimeoutMs: 5_000,
      windowMs: 10_000,
    },
    rateLimit: {
      redis: undefined,
      redisCommandTimeoutMs: 250,
      defaults: { recordsPerSecond: 1_000_000, burst: 1_000_000 },
      tenants: {},
      onRedisFailure: "insurance",
      maxStreamWaitMs: 5_000,
    },
    cluster: { workers: 1 },
    ...overrides,
  };
}

/** A real server on an ephemeral port, its database, and API keys for two tenants. */
export interface TestServer {
  readonly port: number;
  readonly baseUrl: string;
  /** Connection string of the server's database (Postgres only). */
  readonly databaseUrl: string | undefined;
  readonly keys: { readonly acme: string; readonly globex: string };
  readonly app: App;
  /** A client on the server's one shared connection, which `stop()` closes. */
  client(): Client<typeof IngestService>;
  stop(): Promise<void>;
}

/**
 * Starts the real app with real parts: on a fresh Postgres database of its own, or on embedded
 * PGlite in a temporary directory. The API keys are created through the same service the CLI uses.
 */
export async function startTestServer(
  options: {
    database?: "postgres" | "pglite";
    config?: Partial<Config>;
    /** Defaults to `testLogger()`: every line is checked, none is printed. */
    logger?: Logger;
    /** Postgres only: the server reaches the database through this port (a test's TCP proxy). */
    viaPort?: number;
    /** Told about every query the server makes. */
    onQuery?: QueryObserver;
    /** Postgres only: run on this database (the server drops it on stop) instead of a new one. */
    testDatabase?: TestDatabase;
  } = {},
): Promise<TestServer> {
  let testDb: TestDatabase | undefined;
  let dataDir: string | undefined;
  let database: Config["database"];
  if ((options.database ?? "postgres") === "postgres") {
    testDb = options.testDatabase ?? (await createTestDatabase());
    const url = new URL(testDb.url);
    if (options.viaPort !== undefined) url.port = String(options.viaPort);
    database = { kind: "postgres", url: url.toString(), poolMax: 10 };
  } else {
    dataDir = mkdtempSync(join(tmpdir(), "pos-ingest-test-"));
    database = { kind: "pglite", dataDir };
  }
  const config = testConfig({ database, ...options.config });

  // Keys are created before the server opens the database: PGlite allows one process-level owner.
  const setup = createDatabase(
    testDb ? { kind: "postgres", url: testDb.url, poolMax: 2 } : config.database,
  );
  await migrateToLatest(setup.db);
  const acme = (await createApiKey(setup.db, "acme")).token;
  const globex = (await createApiKey(setup.db, "globex")).token;
  await setup.close();

  const app = createApp(config, options.logger ?? testLogger(), {
    ...(options.onQuery && { onQuery: options.onQuery }),
  });
  const forget = trackRunning(`test server (${config.database.kind})`);
  const { grpcPort } = await app.start();
  const baseUrl = `http://127.0.0.1:${grpcPort}`;
  const own = connectIngest(baseUrl, { label: "the test server's own client (stop() closes it)" });
  return {
    port: grpcPort,
    baseUrl,
    databaseUrl: testDb?.url,
    keys: { acme, globex },
    app,
    client: () => own.client,
    async stop() {
      await app.stop();
      // After the server's stop: calls in flight on it finish first, and an abort just before
      // the stop could hold it to its deadline (see clientsClosedAtFileEnd).
      own.close();
      forget();
      await testDb?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Call options carrying an API key and, optionally, an idempotency key. */
export function auth(apiKey: string, idempotencyKey?: string): { headers: Record<string, string> } {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
  return { headers };
}
