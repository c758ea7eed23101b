import { loadConfig } from "../config.js";
import { createDatabase } from "../storage/database.js";
import { migrateToLatest } from "../storage/migrate.js";

/** `npm run migrate`: applies pending migrations to the configured database and lists them. */
async function main(): Promise<void> {
  const database = await createDatabase(loadConfig().database);
  try {
    const { results } = await migrateToLatest(database.db);
    if (!results?.length) process.stdout.write("schema is up to date\n");
    for (const r of results ?? []) process.stdout.write(`${r.status}: ${r.migrationName}\n`);
  } finally {
    await database.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
