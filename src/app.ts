import { sql } from "kysely";
import { Registry } from "prom-client";
import { IngestService } from "../gen/pos/ingest/v1/ingest_pb.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { countActiveApiKeys } from "./auth/key-repository.js";
import { createApiKey } from "./auth/key-service.js";
import type { Config } from "./config.js";
import { RateLimitedError } from "./errors.js";
import {
  createGrpcServer,
  type GuardedPort,
  listenGuarded,
  servedServices,
  shutdownGrpcServer,
} from "./grpc/server.js";
import { statusName } from "./grpc/status.js";
import { createGrpcTlsServer } from "./grpc/tls.js";
import { bindService } from "./grpc/typed-service.js";
import { createGrpcHealth } from "./health/grpc-health.js";
import { createHealthModel, HEALTH_SERVICES, type HealthModel } from "./health/health-model.js";
import { type Monitor, startDatabasePinger, startEventLoopMonitor } from "./health/monitors.js";
import { logDatabaseOutages } from "./health/outage-log.js";
import { createIngestHandlers, type IngestDeps } from "./ingest/handler.js";
import { INGEST_DECODERS } from "./ingest/request-decoders.js";
import { createIngestService, type IngestService as Ingest } from "./ingest/service.js";
import { packageVersion } from "./observability/build-info.js";
import { grpcMetricsInterceptor, initialiseGrpcMetrics } from "./observability/grpc-metrics.js";
import type { Logger } from "./observability/logger.js";
import { createMetrics, type Metrics, queryOperation } from "./observability/metrics.js";
import { createMetricsServer } from "./observability/metrics-server.js";
import { BreakerOpenError, createDbBreaker } from "./resilience/breaker.js";
import { createTenantRateLimiter, type TenantRateLimiter } from "./resilience/rate-limiter.js";
import { shutdownWorstCaseMs } from "./shutdown-budget.js";
import { acquireDataDirLock, type DataDirLock } from "./storage/data-dir-lock.js";
import { createDatabase, type DatabaseHandle } from "./storage/database.js";
import { assertSchemaCurrent, migrateToLatest } from "./storage/migrate.js";

/** Ports the app bound. */
export interface BoundPorts {
  readonly grpcPort: number;
  readonly metricsPort: number;
}

/** A running (or runnable) pos-ingest. */
export interface App {
  /**
   * Binds the gRPC and metrics ports, then initialises (database, migrations), retrying with
   * backoff while the database is unreachable. Resolves once the app is ready for traffic.
   */
  start(): Promise<BoundPorts>;
  /** Resolves as soon as the ports are bound, before initialisation finishes. */
  readonly listening: Promise<BoundPorts>;
  /**
   * Graceful shutdown: readiness off at once, keep serving for the grace period, stop taking
   * calls, let calls in flight finish until the deadline (then end open streams UNAVAILABLE),
   * close everything. Never takes longer than `shutdownWorstCaseMs` of the config. Resolves
   * "forced" if the deadline cut anything short, or that bound ended the closing with a write or
   * connection still open.
   */
  stop(): Promise<"clean" | "forced">;
  readonly health: HealthModel;
  readonly metrics: Metrics;
}

/**
 * The composition root: builds every component from the config and wires them together. Nothing
 * here is module-level state, so tests build as many apps as they like in one process.
 */
export function createApp(config: Config, logger: Logger): App {
  let dataDirLock: DataDirLock | undefined;
  let database: DatabaseHandle | undefined;
  let ingest: Ingest | undefined;
  let deps: IngestDeps | undefined;
  let stopping: Promise<"clean" | "forced"> | undefined;
  let guardedPort: GuardedPort | undefined;
  const monitors: Monitor[] = [];

  const health = createHealthModel(logger);
  logDatabaseOutages(health, logger);
  const metrics = createMetrics(new Registry(), {
    maxTenantLabels: config.metrics.maxTenantLabels,
    maxSourceLabels: config.metrics.maxSourceLabels,
    build: { version: packageVersion(), commit: config.metrics.commit },
    limiterBackend: () => limiter?.backend(),
    pool: () => {
      const pool = database?.pool;
      return {
        total: pool?.totalCount ?? 0,
        idle: pool?.idleCount ?? 0,
        waiting: pool?.waitingCount ?? 0,
      };
    },
  });
  for (const name of Object.values(HEALTH_SERVICES)) {
    metrics.healthStatus.set({ service: name }, health.status(name) === "SERVING" ? 1 : 0);
  }
  health.onChange((service, status) =>
    metrics.healthStatus.set({ service }, status === "SERVING" ? 1 : 0),
  );

  const breaker = createDbBreaker(config.breaker, logger);
  metrics.breakerState.set({ name: "database" }, 0);
  breaker.onStateChange((state) => {
    health.update({ breakerOpen: state !== "closed" });
    metrics.breakerState.set({ name: "database" }, { closed: 0, half_open: 1, open: 2 }[state]);
    metrics.breakerTransitions.inc({ name: "database", to: state });
  });
  const guard = <T>(operation: () => Promise<T>) => breaker.run(operation);
  let limiter: TenantRateLimiter | undefined;

  const handlers = createIngestHandlers({
    deps: () => deps,
    logger,
    streams: {
      maxPerTenant: config.streams.maxPerTenant,
      maxDurationMs: config.streams.maxDurationMs,
      idleTimeoutMs: config.streams.idleTimeoutMs,
    },
    onStreamFinished: (code, seconds) =>
      metrics.ingestStreamSeconds.observe({ code: statusName(code) }, seconds),
  });
  const grpcHealth = createGrpcHealth(health);
  const served = {
    bindings: [bindService(IngestService, handlers.implementation, INGEST_DECODERS)],
    extraServices: [grpcHealth],
  };
  initialiseGrpcMetrics(metrics, servedServices(served));
  const server = createGrpcServer({
    ...served,
    maxMessageBytes: config.grpc.maxMessageBytes,
    connections: {
      maxStreamsPerConnection: config.streams.maxPerConnection,
      keepaliveTimeMs: config.connections.keepaliveTimeMs,
      keepaliveTimeoutMs: config.connections.keepaliveTimeoutMs,
      maxAgeMs: config.connections.maxAgeMs,
      // A connection past its age still gets the shutdown deadline to finish its streams.
      maxAgeGraceMs: config.shutdown.deadlineMs,
    },
    interceptors: [grpcMetricsInterceptor(metrics)],
  });
  const metricsServer = createMetricsServer(metrics.registry, health);

  let resolveListening!: (ports: BoundPorts) => void;
  const listening = new Promise<BoundPorts>((resolve) => {
    resolveListening = resolve;
  });

  /** One initialisation attempt: everything `startup` promises. */
  const initialise = async (): Promise<void> => {
    database ??= await createDatabase(
      config.database,
      (text, ms, failed) =>
        metrics.dbQuerySeconds.observe(
          { operation: queryOperation(text), result: failed ? "error" : "ok" },
          ms / 1000,
        ),
      dataDirLock,
    );
    const { db } = database;
    await sql`select 1`.execute(db);
    if (config.migrateOnStart) {
      const { results } = await migrateToLatest(db);
      for (const r of results ?? []) {
        logger.info({ migration: r.migrationName, status: r.status }, "migration");
      }
    }
    await assertSchemaCurrent(db);
    if (
      database.kind === "pglite" &&
      config.auth.devKeyOnEmpty &&
      (await countActiveApiKeys(db)) === 0
    ) {
      const key = await createApiKey(db, "dev");
      // Printed once, on the very first start of an embedded database, so a newcomer can try
      // the service at once. Never happens against a real server (DATABASE_URL).
      logger.warn({ tenant: key.tenantId }, `development API key (shown once): ${key.token}`);
    }
    limiter ??= createTenantRateLimiter(config.rateLimit, logger);
    const rateLimiter = limiter;
    ingest = createIngestService({
      db,
      guard,
      budget: {
        async acquire(tenantId, records, maxWaitMs) {
          try {
            await rateLimiter.acquire(tenantId, records, maxWaitMs);
          } catch (err) {
            if (err instanceof RateLimitedError) {
              metrics.rateLimited.inc({ tenant: metrics.tenantLabel(tenantId) });
            }
            throw err;
          }
        },
      },
      maxStreamWaitMs: config.rateLimit.maxStreamWaitMs,
      maxStreamRecords: config.streams.maxRecords,
      limits: config.limits,
      streamBatchSize: config.batching.streamBatchSize,
      unaryBatchSize: config.batching.unaryBatchSize,
      unaryMaxConcurrentWrites: config.batching.unaryMaxConcurrentWrites,
      observer: {
        records(tenantId, source, outcome, count) {
          const labels = metrics.ingestLabels(tenantId, source);
          metrics.ingestRecords.inc({ ...labels, outcome }, count);
          if (outcome === "duplicate") metrics.ingestDedup.inc(labels, count);
        },
        batch: (path, size) => metrics.ingestBatchSize.observe({ path }, size),
      },
    });
    deps = {
      service: ingest,
      authenticator: createAuthenticator({
        db,
        ttlSeconds: config.auth.cacheTtlSeconds,
        maxCachedKeys: config.auth.cacheMaxKeys,
        peerBudget: {
          burst: config.auth.peerFailureBurst,
          perMinute: config.auth.peerFailuresPerMinute,
        },
        trustedProxies: config.auth.trustedProxies,
        guard,
        onFailure: (reason) => metrics.authFailures.inc({ reason }),
      }),
    };
    monitors.push(
      startDatabasePinger({
        db,
        health,
        intervalMs: config.health.dbPingIntervalMs,
        timeoutMs: config.health.dbPingTimeoutMs,
        guard,
        isBreakerOpen: (err) => err instanceof BreakerOpenError,
      }),
    );
    health.update({ started: true, databaseReachable: true });
  };

  return {
    listening,
    health,
    metrics,

    async start() {
      // The embedded database's lock is taken before any port is bound or file touched: a
      // second server on the same directory fails at once, naming the owner, having changed
      // nothing. Not retried: waiting does not make another process let go.
      if (config.database.kind === "pglite" && config.database.dataDir !== undefined) {
        dataDirLock ??= acquireDataDirLock(config.database.dataDir);
        const previous = dataDirLock.tookOverFrom;
        if (previous) {
          logger.warn(
            { previousOwner: previous },
            `took over the embedded database from pid ${previous.pid}, which died holding it`,
          );
        }
      }
      monitors.push(
        startEventLoopMonitor({ health, maxDelayMs: config.health.maxEventLoopDelayMs }),
      );
      const { tls } = config;
      const guarded = await listenGuarded(
        server,
        config.grpc.host,
        config.grpc.port,
        logger,
        tls &&
          ((onConnection) =>
            createGrpcTlsServer(tls, onConnection, {
              onReloadError: (err) =>
                logger.warn({ err }, "TLS reload failed; serving the previous certificate"),
            })),
      );
      guardedPort = guarded;
      const grpcPort = guarded.port;
      const metricsPort = await metricsServer.listen(config.metrics.host, config.metrics.port);
      logger.info(
        {
          grpcPort,
          metricsPort,
          database: config.database.kind,
          tls: config.tls ? (config.tls.clientCaFile ? "mutual" : "server") : "off",
        },
        "listening",
      );
      resolveListening({ grpcPort, metricsPort });

      for (let attempt = 1; ; attempt++) {
        if (stopping) throw new Error("stopped before start-up finished");
        try {
          await initialise();
          logger.info({ attempt }, "ready");
          return { grpcPort, metricsPort };
        } catch (err) {
          if (stopping) throw new Error("stopped before start-up finished");
          // Stay up and keep trying: the startup probe decides when to give up, and a process
          // that exits on a database blip turns it into a crash loop.
          const delayMs = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
          logger.warn({ err, attempt, retryInMs: delayMs }, "start-up failed; retrying");
          await new Promise((r) => setTimeout(r, delayMs));
        }
      }
    },

    stop() {
      stopping ??= (async () => {
        const began = performance.now();
        // Grace, deadline and abort answer each end on a timer of their own; the last phase
        // (writes in flight, then the pools) gets what is left of the worst case and no more,
        // so stop() never outlasts the budget loadConfig checked. A write stuck in Postgres
        // holds its pool connection, and the pool's end waits for it, for ever.
        const endsAt =
          began +
          shutdownWorstCaseMs({ ...config.shutdown, breakerTimeoutMs: config.breaker.timeoutMs });
        health.update({ shuttingDown: true });
        // Keep serving while load balancers and endpoints notice readiness went away.
        if (deps && config.shutdown.graceMs > 0) {
          await new Promise((r) => setTimeout(r, config.shutdown.graceMs));
        }
        grpcHealth.endWatches();
        guardedPort?.close();
        const served = await shutdownGrpcServer(server, config.shutdown.deadlineMs, () => {
          logger.warn("shutdown deadline reached; ending open streams with UNAVAILABLE");
          handlers.abortStreams();
        });
        const closed = await settlesBy(endsAt, async () => {
          await ingest?.drain();
          for (const m of monitors) m.stop();
          breaker.shutdown();
          await limiter?.close();
          const snapshot = await metrics.registry.metrics();
          await metricsServer.close();
          await database?.close();
          // Only once the database is closed: a lock released earlier would let another process
          // open files this one may still write. Otherwise the exit hook releases it.
          dataDirLock?.release();
          return snapshot.length;
        });
        const how = served === "clean" && closed !== undefined ? "clean" : "forced";
        const ms = Math.round(performance.now() - began);
        if (closed === undefined) {
          logger.warn({ ms }, "shutdown budget spent; exiting with a write or connection open");
        } else {
          logger.info(
            { how, ms, metricsBytes: closed },
            how === "clean" ? "stopped cleanly" : "stopped at the deadline",
          );
        }
        return how;
      })();
      return stopping;
    },
  };
}

/** Runs `work`; its result, or undefined if it has not settled by `endsAt` (performance.now). */
async function settlesBy<T>(endsAt: number, work: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, endsAt - performance.now()), undefined);
  });
  try {
    return await Promise.race([work(), late]);
  } finally {
    clearTimeout(timer);
  }
}
