import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type Config,
  ConfigError,
  type DatabaseConfig,
  loadConfig,
  loadConfigSections,
  loadDatabaseConfig,
  type RateLimit,
} from "../../src/config/index.js";
import { shutdownWorstCaseMs } from "../../src/lifecycle/shutdown-budget.js";

/** Runs loadConfig expecting it to fail, and returns the ConfigError it threw. */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw`);
}

describe("loadConfig", () => {
  it("applies every default to an empty environment", () => {
    expect(loadConfig({})).toEqual({
      grpc: { host: "0.0.0.0", port: 50051, maxMessageBytes: 1024 * 1024 },
      database: { kind: "pglite", dataDir: ".data/pglite" },
      migrateOnStart: true,
      logLevel: "info",
      limits: { maxLineItems: 5000, maxFutureSkewSeconds: 300 },
      batching: { streamBatchSize: 500, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      auth: {
        cacheTtlSeconds: 30,
        devKeyOnEmpty: true,
        cacheMaxKeys: 10_000,
        peerFailureBurst: 20,
        peerFailuresPerMinute: 60,
        trustedProxies: [],
      },
      metrics: {
        host: "0.0.0.0",
        port: 9464,
        maxTenantLabels: 1000,
        maxSourceLabels: 100,
        commit: "unknown",
      },
      health: { dbPingIntervalMs: 5000, dbPingTimeoutMs: 2000, maxEventLoopDelayMs: 5000 },
      shutdown: { graceMs: 5000, deadlineMs: 20_000 },
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
        defaults: { recordsPerSecond: 2_000, burst: 10_000 },
        tenants: {},
        onRedisFailure: "insurance",
        maxStreamWaitMs: 5_000,
      },
      cluster: { workers: 1 },
    });
  });

  it("ignores variables it does not know", () => {
    expect(loadConfig({ PATH: "/usr/bin", HOME: "/root" })).toEqual(loadConfig({}));
  });

  it("reads each variable it knows", () => {
    const config = loadConfig({
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "6000",
      PGLITE_DATA_DIR: "/var/lib/pos",
      MIGRATE_ON_START: "false",
      LOG_LEVEL: "debug",
      MAX_MESSAGE_BYTES: "2048",
      MAX_LINE_ITEMS: "50",
      MAX_FUTURE_SKEW_SECONDS: "0",
      STREAM_BATCH_SIZE: "100",
      UNARY_BATCH_SIZE: "64",
      UNARY_MAX_CONCURRENT_WRITES: "8",
      AUTH_CACHE_TTL_SECONDS: "5",
      AUTH_CACHE_MAX_KEYS: "100",
      AUTH_PEER_FAILURE_BURST: "3",
      AUTH_PEER_FAILURES_PER_MINUTE: "6",
      AUTH_TRUSTED_PROXIES: " 10.0.0.0/8, fd00::/8 ,192.0.2.1",
      DEV_API_KEY_ON_EMPTY: "no",
      METRICS_HOST: "127.0.0.2",
      METRICS_PORT: "9000",
      METRICS_MAX_TENANT_LABELS: "10",
      METRICS_MAX_SOURCE_LABELS: "5",
      GIT_COMMIT: "abc123",
      HEALTH_DB_PING_INTERVAL_MS: "1000",
      HEALTH_DB_PING_TIMEOUT_MS: "300",
      LIVENESS_MAX_EVENT_LOOP_DELAY_MS: "2500",
      SHUTDOWN_GRACE_MS: "0",
      SHUTDOWN_DEADLINE_MS: "9000",
      TLS_CERT_FILE: "/certs/tls.crt",
      TLS_KEY_FILE: "/certs/tls.key",
      TLS_CLIENT_CA_FILE: "/certs/ca.crt",
      TLS_RELOAD_INTERVAL_MS: "5000",
      MAX_STREAM_RECORDS: "1000",
      MAX_STREAM_DURATION_MS: "60000",
      STREAM_IDLE_TIMEOUT_MS: "1000",
      MAX_STREAMS_PER_CONNECTION: "10",
      MAX_STREAMS_PER_TENANT: "3",
      KEEPALIVE_TIME_MS: "1000",
      KEEPALIVE_TIMEOUT_MS: "500",
      MAX_CONNECTION_AGE_MS: "60000",
      BREAKER_TIMEOUT_MS: "300",
      BREAKER_ERROR_THRESHOLD_PERCENT: "25",
      BREAKER_VOLUME_THRESHOLD: "4",
      BREAKER_RESET_TIMEOUT_MS: "700",
      BREAKER_WINDOW_MS: "2000",
      REDIS_URL: "redis://cache:6379",
      REDIS_COMMAND_TIMEOUT_MS: "100",
      RATE_LIMIT_RECORDS_PER_SECOND: "50",
      RATE_LIMIT_BURST: "0",
      RATE_LIMIT_TENANT_OVERRIDES: '{"acme":{"recordsPerSecond":5,"burst":7}}',
      RATE_LIMIT_ON_REDIS_FAILURE: "closed",
      RATE_LIMIT_MAX_STREAM_WAIT_MS: "0",
    });
    expect(config).toEqual({
      grpc: { host: "127.0.0.1", port: 6000, maxMessageBytes: 2048 },
      database: { kind: "pglite", dataDir: "/var/lib/pos" },
      migrateOnStart: false,
      logLevel: "debug",
      limits: { maxLineItems: 50, maxFutureSkewSeconds: 0 },
      batching: { streamBatchSize: 100, unaryBatchSize: 64, unaryMaxConcurrentWrites: 8 },
      auth: {
        cacheTtlSeconds: 5,
        devKeyOnEmpty: false,
        cacheMaxKeys: 100,
        peerFailureBurst: 3,
        peerFailuresPerMinute: 6,
        trustedProxies: ["10.0.0.0/8", "fd00::/8", "192.0.2.1"],
      },
      metrics: {
        host: "127.0.0.2",
        port: 9000,
        maxTenantLabels: 10,
        maxSourceLabels: 5,
        commit: "abc123",
      },
      health: { dbPingIntervalMs: 1000, dbPingTimeoutMs: 300, maxEventLoopDelayMs: 2500 },
      shutdown: { graceMs: 0, deadlineMs: 9000 },
      tls: {
        certFile: "/certs/tls.crt",
        keyFile: "/certs/tls.key",
        clientCaFile: "/certs/ca.crt",
        reloadIntervalMs: 5000,
      },
      streams: {
        maxRecords: 1000,
        maxDurationMs: 60_000,
        idleTimeoutMs: 1000,
        maxPerConnection: 10,
        maxPerTenant: 3,
      },
      connections: { keepaliveTimeMs: 1000, keepaliveTimeoutMs: 500, maxAgeMs: 60_000 },
      breaker: {
        timeoutMs: 300,
        errorThresholdPercent: 25,
        volumeThreshold: 4,
        resetTimeoutMs: 700,
        windowMs: 2000,
      },
      rateLimit: {
        redis: { kind: "standalone", url: "redis://cache:6379" },
        redisCommandTimeoutMs: 100,
        defaults: { recordsPerSecond: 50, burst: 0 },
        tenants: { acme: { recordsPerSecond: 5, burst: 7 } },
        onRedisFailure: "closed",
        maxStreamWaitMs: 0,
      },
      cluster: { workers: 1 },
    });
  });

  it("accepts port 0 (pick a free port), as tests use", () => {
    expect(loadConfig({ GRPC_PORT: "0" }).grpc.port).toBe(0);
  });

  describe("TLS", () => {
    it("needs both the certificate and the key", () => {
      expect(configErrorOf({ TLS_CERT_FILE: "/c" }).message).toContain(
        "TLS_CERT_FILE, TLS_KEY_FILE",
      );
      expect(configErrorOf({ TLS_KEY_FILE: "/k" }).message).toContain(
        "TLS_CERT_FILE, TLS_KEY_FILE",
      );
    });
    it("refuses a client CA without a server certificate", () => {
      expect(configErrorOf({ TLS_CLIENT_CA_FILE: "/ca" }).message).toContain("TLS_CLIENT_CA_FILE");
    });
  });

  describe("rate limits", () => {
    it.each([
      "not json",
      '{"acme":{"recordsPerSecond":0,"burst":1}}',
      '{"acme":{"burst":1}}',
      "[1]",
    ])("rejects RATE_LIMIT_TENANT_OVERRIDES=%s", (value) => {
      expect(configErrorOf({ RATE_LIMIT_TENANT_OVERRIDES: value }).message).toContain(
        "RATE_LIMIT_TENANT_OVERRIDES",
      );
    });
    it("reads overrides from a file, the variable winning per tenant", () => {
      const dir = mkdtempSync(join(tmpdir(), "pos-ingest-config-"));
      const file = join(dir, "limits.json");
      writeFileSync(
        file,
        JSON.stringify({
          acme: { recordsPerSecond: 10, burst: 1 },
          globex: { recordsPerSecond: 20, burst: 2 },
        }),
      );
      const config = loadConfig({
        RATE_LIMIT_TENANT_OVERRIDES_FILE: file,
        RATE_LIMIT_TENANT_OVERRIDES: '{"acme":{"recordsPerSecond":99,"burst":9}}',
      });
      expect(config.rateLimit.tenants).toEqual({
        acme: { recordsPerSecond: 99, burst: 9 },
        globex: { recordsPerSecond: 20, burst: 2 },
      });
      writeFileSync(file, "{not json");
      expect(configErrorOf({ RATE_LIMIT_TENANT_OVERRIDES_FILE: file }).message).toContain(
        "RATE_LIMIT_TENANT_OVERRIDES_FILE",
      );
      expect(
        configErrorOf({ RATE_LIMIT_TENANT_OVERRIDES_FILE: join(dir, "missing.json") }).message,
      ).toContain("RATE_LIMIT_TENANT_OVERRIDES_FILE");
      rmSync(dir, { recursive: true, force: true });
    });

    it("rejects an unknown failure mode and a non-redis URL", () => {
      expect(configErrorOf({ RATE_LIMIT_ON_REDIS_FAILURE: "open" }).message).toContain(
        "RATE_LIMIT_ON_REDIS_FAILURE",
      );
      expect(configErrorOf({ REDIS_URL: "http://cache" }).message).toContain("REDIS_URL");
    });
  });

  describe("database", () => {
    it.each(["postgres://pos@db:5432/pos", "postgresql://pos:secret@localhost/pos"])(
      "selects postgres for DATABASE_URL=%s",
      (url) => {
        expect(loadConfig({ DATABASE_URL: url }).database).toEqual({
          kind: "postgres",
          url,
          poolMax: 10,
        });
      },
    );

    it("takes the pool size from DB_POOL_MAX", () => {
      const config = loadConfig({ DATABASE_URL: "postgres://db/pos", DB_POOL_MAX: "25" });
      expect(config.database).toEqual({ kind: "postgres", url: "postgres://db/pos", poolMax: 25 });
    });

    it("rejects a DATABASE_URL that is not postgres", () => {
      const err = configErrorOf({ DATABASE_URL: "mysql://db/pos" });
      expect(err.message).toContain("DATABASE_URL");
      expect(err.message).toContain("postgres://");
    });

    it.each(["0", "1001", "ten"])("rejects DB_POOL_MAX=%s", (value) => {
      expect(configErrorOf({ DB_POOL_MAX: value }).message).toContain("DB_POOL_MAX");
    });
  });

  describe("booleans", () => {
    it.each([
      ["true", true],
      ["1", true],
      ["yes", true],
      ["false", false],
      ["0", false],
      ["no", false],
    ])("reads MIGRATE_ON_START=%s as %s", (value, expected) => {
      expect(loadConfig({ MIGRATE_ON_START: value }).migrateOnStart).toBe(expected);
    });

    it.each(["maybe", "TRUE", "on", ""])("rejects MIGRATE_ON_START=%j", (value) => {
      const err = configErrorOf({ MIGRATE_ON_START: value });
      expect(err.name).toBe("ConfigError");
      expect(err.message).toContain("MIGRATE_ON_START");
    });
  });

  it.each(["abc", "-1", "65536", "80.5"])("rejects GRPC_PORT=%j, naming the variable", (value) => {
    expect(configErrorOf({ GRPC_PORT: value }).message).toContain("GRPC_PORT");
  });

  // A variable set but left blank (`GRPC_PORT=` in an env file, or `${GRPC_PORT}` unset in a
  // compose file) is malformed, not zero: read as 0 it would silently bind a random port, reject
  // every future-dated sale, or switch the auth cache off.
  it.each([
    ["GRPC_PORT", ""],
    ["GRPC_PORT", " "],
    ["MAX_FUTURE_SKEW_SECONDS", ""],
    ["AUTH_CACHE_TTL_SECONDS", ""],
  ])("rejects a blank %s=%j instead of reading it as 0", (name, value) => {
    expect(configErrorOf({ [name]: value }).message).toContain(name);
  });

  it.each(["verbose", "INFO", ""])("rejects LOG_LEVEL=%j, naming the variable", (value) => {
    expect(configErrorOf({ LOG_LEVEL: value }).message).toContain("LOG_LEVEL");
  });

  it("names every bad variable in one error", () => {
    const err = configErrorOf({ GRPC_PORT: "x", LOG_LEVEL: "loud", MIGRATE_ON_START: "perhaps" });
    expect(err.message).toContain("GRPC_PORT");
    expect(err.message).toContain("LOG_LEVEL");
    expect(err.message).toContain("MIGRATE_ON_START");
    expect(err.message).not.toContain("GRPC_HOST");
  });

  it.each([
    ["MAX_LINE_ITEMS", "0"],
    ["MAX_MESSAGE_BYTES", "-5"],
    ["MAX_FUTURE_SKEW_SECONDS", "-1"],
    ["UNARY_MAX_CONCURRENT_WRITES", "101"],
    ["AUTH_CACHE_TTL_SECONDS", "3601"],
    ["AUTH_CACHE_MAX_KEYS", "0"],
    ["AUTH_PEER_FAILURE_BURST", "0"],
    ["AUTH_PEER_FAILURES_PER_MINUTE", "0"],
    ["AUTH_TRUSTED_PROXIES", "10.0.0.0/33"],
    ["AUTH_TRUSTED_PROXIES", "proxy.internal"],
    ["GRPC_HOST", ""],
  ])("rejects %s=%j", (name, value) => {
    expect(configErrorOf({ [name]: value }).message).toContain(name);
  });

  describe("shutdown budget", () => {
    const worstCaseOf = (env: NodeJS.ProcessEnv) => {
      const c = loadConfig(env);
      return shutdownWorstCaseMs({ ...c.shutdown, breakerTimeoutMs: c.breaker.timeoutMs });
    };

    it("fits the defaults into the default SHUTDOWN_BUDGET_MS", () => {
      expect(worstCaseOf({})).toBeLessThanOrEqual(40_000);
    });

    it("refuses timings whose worst case exceeds SHUTDOWN_BUDGET_MS, naming each term", () => {
      // 5 s + 20 s + 1 s + 10 s + 1 s = 37 s: fits 40 s, not 35 s.
      const message = configErrorOf({ SHUTDOWN_BUDGET_MS: "35000" }).message;
      for (const name of [
        "SHUTDOWN_BUDGET_MS",
        "SHUTDOWN_GRACE_MS",
        "SHUTDOWN_DEADLINE_MS",
        "BREAKER_TIMEOUT_MS",
      ]) {
        expect(message).toContain(name);
      }
      expect(message).toContain("37000");
      expect(configErrorOf({ SHUTDOWN_DEADLINE_MS: "24000" }).message).toContain(
        "SHUTDOWN_DEADLINE_MS",
      );
      expect(configErrorOf({ BREAKER_TIMEOUT_MS: "14000" }).message).toContain(
        "BREAKER_TIMEOUT_MS",
      );
    });

    it("accepts a worst case exactly at the budget", () => {
      expect(worstCaseOf({ SHUTDOWN_BUDGET_MS: "37000" })).toBe(37_000);
      expect(worstCaseOf({ SHUTDOWN_DEADLINE_MS: "23000" })).toBe(40_000);
    });
  });

  it("returns a deeply frozen object", () => {
    for (const config of [loadConfig({}), loadConfig({ DATABASE_URL: "postgres://db/pos" })]) {
      expect(Object.isFrozen(config)).toBe(true);
      for (const part of [
        config.grpc,
        config.database,
        config.limits,
        config.batching,
        config.auth,
      ]) {
        expect(Object.isFrozen(part)).toBe(true);
      }
      // ESM modules run in strict mode, where writing to a frozen object throws.
      expect(() => {
        (config.grpc as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(() => {
        (config as { logLevel: string }).logLevel = "trace";
      }).toThrow(TypeError);
    }
  });

  it("returns a fresh object each call, unaffected by later changes to the env", () => {
    const env: NodeJS.ProcessEnv = { GRPC_PORT: "7000" };
    const first = loadConfig(env);
    env.GRPC_PORT = "7001";
    expect(first.grpc.port).toBe(7000);
    expect(loadConfig(env).grpc.port).toBe(7001);
  });
});

describe("loadDatabaseConfig (the keys, migrate and backfill-ledger commands)", () => {
  it("reads only the database's variables: a bad port elsewhere does not stop a command", () => {
    const env = { DATABASE_URL: "postgres://u@h:5432/d", DB_POOL_MAX: "3", GRPC_PORT: "x" };
    expect(() => loadConfig(env)).toThrow(/GRPC_PORT/);
    expect(loadDatabaseConfig(env)).toEqual({
      kind: "postgres",
      url: "postgres://u@h:5432/d",
      poolMax: 3,
    });
    expect(loadDatabaseConfig({ PGLITE_DATA_DIR: "/tmp/x" })).toEqual({
      kind: "pglite",
      dataDir: "/tmp/x",
    });
  });

  it("names a bad database variable as loadConfig does", () => {
    expect(() => loadDatabaseConfig({ DATABASE_URL: "mysql://x" })).toThrow(
      /DATABASE_URL: expected postgres:\/\//,
    );
  });
});

describe("loadConfigSections (a command loads only the part it needs)", () => {
  it("parses the named sections and looks at no other variable", () => {
    const env = { GRPC_PORT: "x", SHUTDOWN_BUDGET_MS: "1", METRICS_PORT: "9000" };
    const { metrics, health } = loadConfigSections(["metrics", "health"], env);
    expect(metrics.port).toBe(9000);
    expect(health.dbPingIntervalMs).toBe(5000);
    expect(Object.isFrozen(metrics)).toBe(true);
    expect(Object.keys(loadConfigSections(["metrics"], env))).toEqual(["metrics"]);
  });

  it("reports the problems of all the sections it reads, cross-field rules included, at once", () => {
    const env = {
      GRPC_PORT: "x",
      TLS_KEY_FILE: "/k",
      SHUTDOWN_BUDGET_MS: "1000",
      RATE_LIMIT_ON_REDIS_FAILURE: "open",
    };
    const lines = (() => {
      try {
        loadConfigSections(["grpc", "tls", "shutdown", "rateLimit"], env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message.split("\n").slice(1);
      }
      throw new Error("expected a ConfigError");
    })();
    expect(lines.map((l) => l.trim().split(":")[0])).toEqual([
      "GRPC_PORT",
      "TLS_CERT_FILE, TLS_KEY_FILE",
      "SHUTDOWN_BUDGET_MS",
      "RATE_LIMIT_ON_REDIS_FAILURE",
    ]);
  });
});

describe("a variable two sections read", () => {
  it("is named once when it is bad", () => {
    const message = configErrorOf({ BREAKER_TIMEOUT_MS: "soon" }).message;
    expect(message.match(/BREAKER_TIMEOUT_MS/g)).toHaveLength(1);
  });
});

describe("a cross-field rule", () => {
  it("is not applied to a variable that did not parse (one line, about that variable)", () => {
    const shutdown = configErrorOf({ SHUTDOWN_GRACE_MS: "soon" }).message;
    expect(shutdown.split("\n").slice(1)).toEqual(["  SHUTDOWN_GRACE_MS: expected a whole number"]);
    const tls = configErrorOf({ TLS_CERT_FILE: "", TLS_KEY_FILE: "/k" }).message;
    expect(tls.split("\n").slice(1)).toHaveLength(1);
    expect(tls).toContain("  TLS_CERT_FILE: ");
  });
});

describe("the Config type", () => {
  it("is inferred from the section schemas, read-only all the way down", () => {
    expectTypeOf<Config["database"]>().toEqualTypeOf<DatabaseConfig>();
    expectTypeOf<Config["grpc"]>().toEqualTypeOf<{
      readonly host: string;
      readonly port: number;
      readonly maxMessageBytes: number;
    }>();
    expectTypeOf<Config["rateLimit"]["tenants"]>().toEqualTypeOf<
      Readonly<Record<string, RateLimit>>
    >();
    expectTypeOf<Config["auth"]["trustedProxies"]>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<Config["tls"]>().toExtend<undefined | { readonly certFile: string }>();
    expectTypeOf<Config["migrateOnStart"]>().toEqualTypeOf<boolean>();
  });
});
