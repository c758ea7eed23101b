import type { Server } from "@grpc/grpc-js";
import { sql } from "kysely";
import { countActiveApiKeys } from "../auth/key-repository.js";
import { createApiKey } from "../auth/key-service.js";
import type { Config } from "../config/index.js";
import { type GuardedPort, listenGuarded } from "../grpc/server.js";
import { createGrpcTlsServer } from "../grpc/tls.js";
import type { HealthModel } from "../health/health-model.js";
import { type Monitor, startDatabasePinger, startEventLoopMonitor } from "../health/monitors.js";
import type { DbGuard } from "../ingest/model.js";
import type { Logger } from "../observability/logger.js";
import type { MetricsServer } from "../observability/metrics-server.js";
import { BreakerOpenError } from "../resilience/breaker.js";
import type { TenantRateLimiter } from "../resilience/rate-limiter.js";
import type { DatabaseHandle } from "../storage/database.js";
import { distributeTables } from "../storage/distribute.js";
import { assertSchemaCurrent, migrateToLatest } from "../storage/migrate.js";

/** Ports the app bound. */
export interface BoundPorts {
  readonly grpcPort: number;
  readonly metricsPort: number;
}

/** What start-up acts on: built by the composition root, none of it started yet. */
export interface StartupParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly health: HealthModel;
  readonly database: DatabaseHandle;
  readonly guard: DbGuard;
  readonly server: Server;
  readonly metricsServer: MetricsServer;
  readonly limiter: TenantRateLimiter;
}

/** The app's start-up, and what it leaves running for the shutdown to stop. */
export interface Startup {
  /**
   * Takes the embedded database's lock, binds the ports, connects to Redis, then initialises (ping, migrations,
   * schema check, dev key) with backoff while the database is unreachable, until `stopping()`.
   */
  start(stopping: () => boolean): Promise<BoundPorts>;
  /** Resolves as soon as the ports are bound, before initialisation finishes. */
  readonly listening: Promise<BoundPorts>;
  /** Stops accepting gRPC connections (open ones end with the server's shutdown). */
  closePort(): void;
  /** Stops the monitors start-up began. */
  stopMonitors(): void;
}

/** Builds the start-up sequence over the app's parts. */
export function createStartup(parts: StartupParts): Startup {
  const { config, logger, health, database, guard } = parts;
  const monitors: Monitor[] = [];
  let guardedPort: GuardedPort | undefined;
  let resolveListening!: (ports: BoundPorts) => void;
  const listening = new Promise<BoundPorts>((resolve) => {
    resolveListening = resolve;
  });

  /** One initialisation attempt: everything the startup probe promises. */
  const initialise = async (): Promise<void> => {
    const { db } = database;
    await sql`select 1`.execute(db);
    if (config.migrateOnStart) {
      const { results } = await migrateToLatest(db);
      for (const r of results ?? []) {
        logger.info({ migration: r.migrationName, status: r.status }, "migration");
      }
      // A table a migration just added is placed as well, so a Citus schema stays distributed.
      const placed = await distributeTables(db);
      for (const t of placed.citus === undefined ? [] : placed.tables) {
        if (t.action === "created")
          logger.info({ table: t.table, placement: t.placement }, "citus");
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

  const bind = async (): Promise<BoundPorts> => {
    const { tls } = config;
    guardedPort = await listenGuarded(
      parts.server,
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
    const grpcPort = guardedPort.port;
    const metricsPort = await parts.metricsServer.listen(config.metrics.host, config.metrics.port);
    logger.info(
      {
        grpcPort,
        metricsPort,
        database: config.database.kind,
        tls: tls ? (tls.clientCaFile ? "mutual" : "server") : "off",
      },
      "listening",
    );
    return { grpcPort, metricsPort };
  };

  return {
    listening,
    async start(stopping) {
      // The embedded database's lock is taken before any port is bound or file touched: a
      // second server on the same directory fails at once, naming the owner, having changed
      // nothing. Not retried: waiting does not make another process let go.
      const previous = database.lock();
      if (previous) {
        logger.warn(
          { previousOwner: previous },
          `took over the embedded database from pid ${previous.pid}, which died holding it`,
        );
      }
      monitors.push(
        startEventLoopMonitor({ health, maxDelayMs: config.health.maxEventLoopDelayMs }),
      );
      const ports = await bind();
      resolveListening(ports);
      parts.limiter.connect();
      for (let attempt = 1; ; attempt++) {
        if (stopping()) throw new Error("stopped before start-up finished");
        try {
          await initialise();
          logger.info({ attempt }, "ready");
          return ports;
        } catch (err) {
          if (stopping()) throw new Error("stopped before start-up finished");
          // Stay up and keep trying: the startup probe decides when to give up, and a process
          // that exits on a database blip turns it into a crash loop.
          const delayMs = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
          logger.warn({ err, attempt, retryInMs: delayMs }, "start-up failed; retrying");
          await new Promise((r) => setTimeout(r, delayMs));
        }
      }
    },
    closePort: () => guardedPort?.close(),
    stopMonitors() {
      for (const m of monitors) m.stop();
    },
  };
}
