import { type Kysely, type MigrationResultSet, Migrator } from "kysely";
import { migrations } from "../../migrations/index.js";

/** Name of the newest migration: what `startup` expects the schema to be at. */
export const latestMigration = Object.keys(migrations).sort().at(-1) ?? "";

/**
 * Brings the schema to the latest migration. Kysely's migrator takes a Postgres advisory lock,
 * so replicas starting at once apply each migration exactly once.
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator runs on a database of any schema.
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

/**
 * Fails unless the schema is at the latest migration this build knows, so `startup` never
 * reports SERVING against a database that migrations (or MIGRATE_ON_START=false) left behind.
 */
// biome-ignore lint/suspicious/noExplicitAny: the check runs on a database of any schema.
export async function assertSchemaCurrent(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const pending = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined);
  if (pending.length > 0) {
    throw new Error(
      `database schema is behind: ${pending.length} migration(s) pending, first ${pending[0]?.name}; run npm run migrate`,
    );
  }
}
