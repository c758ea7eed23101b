import { migrateToLatest } from "../storage/migrate.js";
import { openCommandDatabase } from "./open-database.js";

/** `pos-ingest migrate`: applies pending migrations to the configured database and lists them. */
export async function runMigrate(): Promise<number> {
  const database = openCommandDatabase();
  try {
    const { results } = await migrateToLatest(database.db);
    if (!results?.length) process.stdout.write("schema is up to date\n");
    for (const r of results ?? []) process.stdout.write(`${r.status}: ${r.migrationName}\n`);
    return 0;
  } finally {
    await database.close();
  }
}
