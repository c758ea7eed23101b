import { loadDatabaseConfig } from "../config.js";
import { createDatabase, type DatabaseHandle } from "../storage/database.js";

/**
 * Opens the configured database for a one-shot command (`keys`, `migrate`). On the embedded
 * database this takes its lock, so the command fails at once, naming the owner, while a server
 * (or another command) has it open: writing beside a running server is how keys got lost.
 */
export async function openCommandDatabase(): Promise<DatabaseHandle> {
  const database = await createDatabase(loadDatabaseConfig());
  const previous = database.tookOverLockFrom;
  if (previous) {
    process.stderr.write(
      `note: took over the embedded database from pid ${previous.pid} (${previous.command}), which died holding it\n`,
    );
  }
  return database;
}
