import { Registry } from "prom-client";
import { IngestService } from "../gen/pos/ingest/v1/ingest_pb.js";
import { ReconcileService } from "../gen/pos/ingest/v1/reconcile_pb.js";
import { createAuthenticator } from "./auth/authenticator.js";
import type { ClusterSeat } from "./cluster/seat.js";
import type { Config } from "./config/index.js";
import { createGrpcServer, servedServices } from "./grpc/server.js";
import { bindService } from "./grpc/typed-service.js";
import { createGrpcHealth } from "./health/grpc-health.js";
import { createHealthModel, type HealthModel } from "./health/health-model.js";
import { logDatabaseOutages } from "./health/outage-log.js";
import { createIngestHandlers } from "./ingest/handler.js";
import { createReconcileHandlers } from "./ingest/reconcile-handler.js";
import { createReconcileService } from "./ingest/reconcile-service.js";
import { INGEST_DECODING } from "./ingest/request-decoders.js";
import { createIngestService } from "./ingest/service.js";
import { createShutdown } from "./lifecycle/shutdown.js";
import { type BoundPorts, createStartup } from "./lifecycle/startup.js";
import * as meter from "./observability/app-metrics.js";
import { packageVersion } from "./observability/build-info.js";
import { grpcMetricsInterceptor, initialiseGrpcMetrics } from "./observability/grpc-metrics.js";
import type { Logger } from "./observability/logger.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { createMetricsServer } from "./observability/metrics-server.js";
import { createDbBreaker } from "./resilience/breaker.js";
import { createTenantRateLimiter } from "./resilience/rate-limiter.js";
import { createDatabase, type QueryObserver } from "./storage/database.js";

export type { BoundPorts };

/** A running (or runnable) pos-ingest. */
export interface App {
  /**
   * Binds the gRPC and metrics ports, then initialises (database, migrations), retrying with
   * backoff while the database is unreachable. Resolves once the app is ready for traffic.
   */
  start(): Promise<BoundPorts>;
  /** Resolves as soon as the ports are bound, before initialisation finishes. */
  readonly listening: Promise<BoundPorts>;
  /** Graceful shutdown, bounded by the config's worst case (see lifecycle/shutdown.ts). */
  stop(): Promise<"clean" | "forced">;
  readonly health: HealthModel;
  readonly metrics: Metrics;
}

/** What a caller may observe of a running app beyond its metrics and logs. */
export interface AppHooks {
  /** Told about every database query the app makes (tests prove statement shapes with it). */
  readonly onQuery?: QueryObserver;
  /** Set when the app runs as one worker of several on one port (see src/cluster/). */
  readonly cluster?: ClusterSeat;
}

/**
 * The composition root: builds every component from the config, up front and without side
 * effects (nothing connects, listens or opens a file until `start`), and wires them together.
 * Nothing here is module-level state, so tests build as many apps as they like in one process.
 */
export function createApp(config: Config, logger: Logger, hooks: AppHooks = {}): App {
  const health = createHealthModel(logger);
  logDatabaseOutages(health, logger);
  const metrics = createMetrics(new Registry(), {
    maxTenantLabels: config.metrics.maxTenantLabels,
    maxSourceLabels: config.metrics.maxSourceLabels,
    build: { version: packageVersion(), commit: config.metrics.commit },
    limiterBackend: () => limiter.backend(),
    pool: () => ({
      total: database.pool?.totalCount ?? 0,
      idle: database.pool?.idleCount ?? 0,
      waiting: database.pool?.waitingCount ?? 0,
    }),
  });

  // Storage and the guards in front of it.
  const meterQuery = meter.meterQueries(metrics);
  const { onQuery } = hooks;
  const database = createDatabase(
    config.database,
    onQuery
      ? (...query) => {
          meterQuery(...query);
          onQuery(...query);
        }
      : meterQuery,
  );
  const breaker = createDbBreaker(config.breaker, logger);
  breaker.onStateChange((state) => health.update({ breakerOpen: state !== "closed" }));
  meter.meterStateChanges(metrics, health, breaker);
  const guard = <T>(operation: () => Promise<T>) => breaker.run(operation);
  const limiter = createTenantRateLimiter(config.rateLimit, logger);

  // The domain: ingest and who may call it.
  const service = createIngestService({
    db: database.db,
    guard,
    budget: meter.meteredBudget(limiter, metrics),
    maxStreamWaitMs: config.rateLimit.maxStreamWaitMs,
    maxStreamRecords: config.streams.maxRecords,
    limits: config.limits,
    streamBatchSize: config.batching.streamBatchSize,
    unaryBatchSize: config.batching.unaryBatchSize,
    unaryMaxConcurrentWrites: config.batching.unaryMaxConcurrentWrites,
    observer: meter.ingestObserver(metrics),
  });
  const reconciler = createReconcileService({
    db: database.db,
    guard,
    budget: meter.meteredBudget(limiter, metrics),
    observer: meter.reconcileObserver(metrics),
  });
  const authenticator = createAuthenticator({
    db: database.db,
    ttlSeconds: config.auth.cacheTtlSeconds,
    maxCachedKeys: config.auth.cacheMaxKeys,
    peerBudget: {
      burst: config.auth.peerFailureBurst,
      perMinute: config.auth.peerFailuresPerMinute,
    },
    trustedProxies: config.auth.trustedProxies,
    guard,
    onFailure: (reason) => metrics.authFailures.inc({ reason }),
  });

  // The gRPC face, health and the metrics sidecar.
  const handlers = createIngestHandlers({
    service,
    authenticator,
    isReady: () => health.signals().started,
    logger,
    streams: config.streams,
    onStreamFinished: meter.meterStreams(metrics),
  });
  const reconcileHandlers = createReconcileHandlers({
    service: reconciler,
    authenticator,
    isReady: () => health.signals().started,
    logger,
  });
  // A cluster worker answers for the whole cluster, and leaves the sidecar to the primary.
  const grpcHealth = createGrpcHealth(hooks.cluster?.healthView(health) ?? health);
  const served = {
    bindings: [
      bindService(IngestService, handlers.implementation, INGEST_DECODING),
      bindService(ReconcileService, reconcileHandlers),
    ],
    extraServices: [grpcHealth],
  };
  initialiseGrpcMetrics(metrics, servedServices(served));
  const server = createGrpcServer({
    ...served,
    maxMessageBytes: config.grpc.maxMessageBytes,
    connections: {
      maxStreamsPerConnection: config.streams.maxPerConnection,
      ...config.connections,
      // A connection past its age still gets the shutdown deadline to finish its streams.
      maxAgeGraceMs: config.shutdown.deadlineMs,
    },
    interceptors: [grpcMetricsInterceptor(metrics)],
  });
  const metricsServer =
    hooks.cluster?.metricsServer ?? createMetricsServer(metrics.registry, health);

  // The lifecycle.
  const startup = createStartup({
    config,
    logger,
    health,
    database,
    guard,
    server,
    metricsServer,
    limiter,
  });
  const stop = createShutdown({
    config,
    logger,
    health,
    grpcHealth,
    startup,
    server,
    abortStreams: handlers.abortStreams,
    drainWrites: () => service.drain(),
    breaker,
    limiter,
    registry: metrics.registry,
    metricsServer,
    database,
  });
  let stopping = false;
  return {
    listening: startup.listening,
    health,
    metrics,
    start: () => startup.start(() => stopping),
    stop() {
      stopping = true;
      return stop();
    },
  };
}
