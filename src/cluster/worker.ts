import cluster from "node:cluster";
import { createApp } from "../app.js";
import type { Config } from "../config/index.js";
import { startOrExit, stopAndExit } from "../lifecycle/process-exit.js";
import type { Logger } from "../observability/logger.js";
import { statusesOf, workerHealthView } from "./cluster-health.js";
import { isPrimaryMessage, sendToPrimary } from "./messages.js";
import { type ClusterSeat, SIDECAR_PORT_ENV } from "./seat.js";

/**
 * Runs this process as one worker of a cluster (see primary.ts): the app as a single process
 * runs it, bound to the port the primary shares, reporting its health to the primary and
 * answering its requests for metrics. Stops gracefully on SIGTERM/SIGINT (the primary's, or a
 * terminal's Ctrl-C that reached the whole process group) or when the primary is gone; exits 0
 * when the stop was clean, 1 when forced or when start-up failed.
 */
export async function runWorker(config: Config, rootLogger: Logger): Promise<void> {
  const id = cluster.worker?.id ?? 0;
  const logger = rootLogger.child({ worker: id });
  const sidecarPort = Number(process.env[SIDECAR_PORT_ENV] ?? config.metrics.port);
  let combined: ReturnType<typeof workerHealthView> | undefined;
  const seat: ClusterSeat = {
    healthView(local) {
      combined = workerHealthView(local);
      return combined.view;
    },
    metricsServer: { listen: async () => sidecarPort, close: async () => {} },
  };
  const app = createApp(config, logger, { cluster: seat });

  // A primary that is gone cannot be told; the disconnect handler below stops this worker.
  const send = sendToPrimary;
  let reportQueued = false;
  const report = (): void => {
    // One update changes several names; one message carries them all.
    if (reportQueued) return;
    reportQueued = true;
    queueMicrotask(() => {
      reportQueued = false;
      send({ type: "pos-ingest:health", statuses: statusesOf(app.health) });
    });
  };
  process.on("message", (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.type === "pos-ingest:cluster-health") {
      combined?.setCluster(message.statuses);
      return;
    }
    app.metrics.registry.getMetricsAsJSON().then(
      (metrics) => send({ type: "pos-ingest:metrics", id: message.id, metrics }),
      (err: unknown) => {
        logger.warn({ err }, "metrics collection failed");
        send({ type: "pos-ingest:metrics", id: message.id, metrics: [] });
      },
    );
  });
  app.health.onChange(report);
  // The first report tells the primary this worker listens for its messages.
  report();

  let stopping = false;
  const stop = (reason: string): void => {
    // Repeats are ignored: a second Ctrl-C reaches the primary too, and it is the primary that
    // ends the workers at once on a second signal.
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, "shutting down");
    stopAndExit(app, logger);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // The primary died (kill -9): nothing would replace or stop this worker any more.
  process.on("disconnect", () => stop("primary gone"));
  // A stop during start-up ends it; the stop decides the exit code.
  await startOrExit(app, logger, () => stopping);
}
