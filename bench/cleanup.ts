/** Something to undo if the run is interrupted: a child to stop, a database to drop. */
type Cleanup = () => Promise<void> | void;

const pending = new Set<Cleanup>();

/**
 * Registers `cleanup` to run if the bench is interrupted (SIGINT, SIGTERM) before the normal path
 * undoes it; call the returned function once the normal path has.
 */
export function onInterrupt(cleanup: Cleanup): () => void {
  pending.add(cleanup);
  return () => {
    pending.delete(cleanup);
  };
}

/**
 * On SIGINT or SIGTERM, runs every pending cleanup (children stopped, fresh databases dropped,
 * rendered configs deleted) and exits, so an interrupted run leaves nothing behind.
 */
export function cleanUpOnInterrupt(): void {
  let interrupted = false;
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping children and dropping bench databases\n`);
    // Newest first: a server stops before the database under it is dropped.
    const all = [...pending].reverse();
    pending.clear();
    void (async () => {
      for (const cleanup of all) {
        try {
          await cleanup();
        } catch {
          // keep undoing the rest
        }
      }
      process.exit(130);
    })();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
