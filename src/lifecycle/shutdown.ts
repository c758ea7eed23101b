import type { Server } from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import type { Config } from "../config/index.js";
import { shutdownGrpcServer } from "../grpc/server.js";
import type { GrpcHealth } from "../health/grpc-health.js";
import type { HealthModel } from "../health/health-model.js";
import type { Logger } from "../observability/logger.js";
import type { MetricsServer } from "../observability/metrics-server.js";
import type { DbBreaker } from "../resilience/breaker.js";
import type { TenantRateLimiter } from "../resilience/rate-limiter.js";
import type { DatabaseHandle } from "../storage/database.js";
import { shutdownWorstCaseMs } from "./shutdown-budget.js";
import type { Startup } from "./startup.js";

/** What the drain stops, in the order it stops them. */
export interface ShutdownParts {
  readonly config: Pick<Config, "shutdown" | "breaker">;
  readonly logger: Logger;
  readonly health: HealthModel;
  readonly grpcHealth: GrpcHealth;
  readonly startup: Pick<Startup, "closePort" | "stopMonitors">;
  readonly server: Server;
  /** Ends every open stream with UNAVAILABLE (the handlers'), when the deadline is reached. */
  readonly abortStreams: () => void;
  /** Resolves once every database write in flight has settled (the ingest service's). */
  readonly drainWrites: () => Promise<void>;
  readonly breaker: DbBreaker;
  readonly limiter: TenantRateLimiter;
  readonly registry: Registry;
  readonly metricsServer: MetricsServer;
  readonly database: DatabaseHandle;
}

/**
 * Builds the graceful shutdown: readiness off at once, keep serving for the grace period, stop
 * taking calls, let calls in flight finish until the deadline (then end open streams
 * UNAVAILABLE), close everything. The returned function runs it once (later calls share the
 * first run) and never takes longer than `shutdownWorstCaseMs` of the config; it resolves
 * "forced" if the deadline cut anything short, or that bound ended the closing with a write or
 * connection still open.
 */
export function createShutdown(parts: ShutdownParts): () => Promise<"clean" | "forced"> {
  const { config, logger, health } = parts;
  let stopping: Promise<"clean" | "forced"> | undefined;

  const drain = async (): Promise<"clean" | "forced"> => {
    const began = performance.now();
    // Grace, deadline and abort answer each end on a timer of their own; the last phase (writes
    // in flight, then the pools) gets what is left of the worst case and no more, so the drain
    // never outlasts the budget the config checked. A write stuck in Postgres holds its pool
    // connection, and the pool's end waits for it, for ever.
    const endsAt =
      began +
      shutdownWorstCaseMs({ ...config.shutdown, breakerTimeoutMs: config.breaker.timeoutMs });
    // Read before readiness goes: an app that never finished starting has no traffic to hand over.
    const started = health.signals().started;
    health.update({ shuttingDown: true });
    // Keep serving while load balancers and endpoints notice readiness went away.
    if (started && config.shutdown.graceMs > 0) {
      await new Promise((r) => setTimeout(r, config.shutdown.graceMs));
    }
    parts.grpcHealth.endWatches();
    parts.startup.closePort();
    const served = await shutdownGrpcServer(parts.server, config.shutdown.deadlineMs, () => {
      logger.warn("shutdown deadline reached; ending open streams with UNAVAILABLE");
      parts.abortStreams();
    });
    const closed = await settlesBy(endsAt, async () => {
      await parts.drainWrites();
      parts.startup.stopMonitors();
      parts.breaker.shutdown();
      await parts.limiter.close();
      const snapshot = await parts.registry.metrics();
      await parts.metricsServer.close();
      // Releases the embedded database's lock too, once its files are closed.
      await parts.database.close();
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
  };

  return () => {
    stopping ??= drain();
    return stopping;
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
