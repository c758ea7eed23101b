import { describeDistribution, distributeTables } from "../storage/distribute.js";
import { migrateToLatest } from "../storage/migrate.js";
import { openCommandDatabase } from "./open-database.js";

/**
 * `pos-ingest migrate`: applies pending migrations to the configured database and lists them,
 * then, on a database with the citus extension, places the tables for distributed mode (README,
 * "Scaling out"); a rerun changes nothing.
 */
export async function runMigrate(): Promise<number> {
  const database = openCommandDatabase();
  try {
    const { results } = await migrateToLatest(database.db);
    if (!results?.length) process.stdout.write("schema is up to date\n");
    for (const r of results ?? []) process.stdout.write(`${r.status}: ${r.migrationName}\n`);
    for (const line of describeDistribution(await distributeTables(database.db))) {
      process.stdout.write(`${line}\n`);
    }
    return 0;
  } finally {
    await database.close();
  }
}
