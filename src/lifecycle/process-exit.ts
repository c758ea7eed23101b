import type { App } from "../app.js";
import type { Logger } from "../observability/logger.js";

/**
 * How a server process ends, the single process's and a cluster worker's alike: its graceful
 * stop, then exit 0 when the stop was clean and 1 when it was forced or failed.
 */
export function stopAndExit(app: App, logger: Logger): void {
  app.stop().then(
    (how) => process.exit(how === "clean" ? 0 : 1),
    (err: unknown) => {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    },
  );
}

/**
 * Starts the app; when start-up fails, logs why and exits 1, unless a stop already under way
 * (`stopping()`) decides the exit instead.
 */
export async function startOrExit(app: App, logger: Logger, stopping: () => boolean) {
  try {
    await app.start();
  } catch (err) {
    if (stopping()) return;
    // The message itself, not only under `err`: for a lock held by another process it says
    // which process and what to do, and is the line an operator reads.
    logger.fatal({ err }, `start failed: ${err instanceof Error ? err.message : String(err)}`);
    await app.stop().catch(() => {});
    process.exit(1);
  }
}
