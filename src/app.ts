import { IngestService } from "../gen/pos/ingest/v1/ingest_pb.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { countActiveApiKeys } from "./auth/key-repository.js";
import { createApiKey } from "./auth/key-service.js";
import type { Config } from "./config.js";
import { bindGrpcServer, createGrpcServer, shutdownGrpcServer } from "./grpc/server.js";
import { createIngestHandlers } from "./ingest/handler.js";
import { createIngestService } from "./ingest/service.js";
import type { Logger } from "./observability/logger.js";
import { createDatabase, type DatabaseHandle } from "./storage/database.js";
import { migrateToLatest } from "./storage/migrate.js";

/** A running (or runnable) pos-ingest. */
export interface App {
  /** Opens the database, migrates, binds the gRPC port. Resolves with the bound port. */
  start(): Promise<{ grpcPort: number }>;
  /** Stops taking calls, lets calls in flight finish (up to `graceMs`), closes the database. */
  stop(graceMs?: number): Promise<"clean" | "forced">;
}

/**
 * The composition root: builds every component from the config and wires them together. Nothing
 * here is module-level state, so tests build as many apps as they like in one process.
 */
export function createApp(config: Config, logger: Logger): App {
  let database: DatabaseHandle | undefined;
  let server: ReturnType<typeof createGrpcServer> | undefined;
  let drainService: (() => Promise<void>) | undefined;

  return {
    async start() {
      database = await createDatabase(config.database);
      const { db } = database;
      logger.info(
        config.database.kind === "pglite"
          ? { database: "pglite", dataDir: config.database.dataDir ?? "(memory)" }
          : { database: "postgres" },
        "database opened",
      );
      if (config.migrateOnStart) {
        const { results } = await migrateToLatest(db);
        for (const r of results ?? [])
          logger.info({ migration: r.migrationName, status: r.status }, "migration");
      }
      if (
        database.kind === "pglite" &&
        config.auth.devKeyOnEmpty &&
        (await countActiveApiKeys(db)) === 0
      ) {
        const key = await createApiKey(db, "dev");
        // Printed once, on the very first start of an embedded database, so a newcomer can try
        // the service at once. Never happens against a real server (DATABASE_URL).
        logger.warn(
          { tenant: key.tenantId, apiKey: undefined },
          `development API key (shown once): ${key.token}`,
        );
      }

      const service = createIngestService({
        db,
        limits: config.limits,
        streamBatchSize: config.batching.streamBatchSize,
        unaryBatchSize: config.batching.unaryBatchSize,
        unaryMaxConcurrentWrites: config.batching.unaryMaxConcurrentWrites,
      });
      drainService = () => service.drain();
      const authenticator = createAuthenticator({ db, ttlSeconds: config.auth.cacheTtlSeconds });
      server = createGrpcServer({
        bindings: [
          {
            service: IngestService,
            handlers: createIngestHandlers({ service, authenticator, logger }),
          },
        ],
        maxMessageBytes: config.grpc.maxMessageBytes,
      });
      const grpcPort = await bindGrpcServer(server, config.grpc.host, config.grpc.port);
      logger.info({ grpcPort, host: config.grpc.host }, "gRPC server listening");
      return { grpcPort };
    },

    async stop(graceMs = 10_000) {
      let how: "clean" | "forced" = "clean";
      if (server) how = await shutdownGrpcServer(server, graceMs);
      await drainService?.();
      await database?.close();
      logger.info({ how }, "stopped");
      return how;
    },
  };
}
