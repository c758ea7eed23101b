import { loadDatabaseConfig } from "../config/index.js";
import { createDatabase, type DatabaseHandle } from "../storage/database.js";

/**
 * Opens the configured database for a one-shot command (`keys`, `migrate`). On the embedded
 * database this takes its lock, so the command fails at once, naming the owner, while a server
 * (or another command) has it open: writing beside a running server is how keys got lost.
 */
export function openCommandDatabase(): DatabaseHandle {
  const database = createDatabase(loadDatabaseConfig());
  const previous = database.lock();
  if (previous) {
    process.stderr.write(
      `note: took over the embedded database from pid ${previous.pid} (${previous.command}), which died holding it\n`,
    );
  }
  return database;
}
