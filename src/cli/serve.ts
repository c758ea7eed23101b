import cluster from "node:cluster";
import { createApp } from "../app.js";
import { runPrimary } from "../cluster/primary.js";
import { runWorker } from "../cluster/worker.js";
import { ConfigError, loadConfig } from "../config/index.js";
import { startOrExit, stopAndExit } from "../lifecycle/process-exit.js";
import { createLogger } from "../observability/logger.js";

/**
 * Runs the server until SIGTERM/SIGINT: config, app, signals. Nothing else belongs here, but for
 * handing over to the cluster's primary or worker (src/cluster/) when WORKERS > 1.
 */
export async function runServer(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // WORKERS=1 (the default) is the single process below, with no primary.
  if (config.cluster.workers > 1) {
    await (cluster.isPrimary ? runPrimary(config, logger) : runWorker(config, logger));
    return;
  }
  const app = createApp(config, logger);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    stopAndExit(app, logger);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // A failed start-up exits 1 even while a signal's stop runs, as it always has here.
  await startOrExit(app, logger, () => false);
}
