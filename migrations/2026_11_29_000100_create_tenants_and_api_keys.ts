import { type Kysely, sql } from "kysely";

// Frozen in time: this file never imports application code.

// Tenants and API keys are small reference tables. Keys are looked up by the hash of the
// presented secret before the tenant is known, so their unique index is on key_hash alone; in a
// tenant-distributed deployment (Citus) these tables are replicated reference tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("tenants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
    .addColumn("key_hash", "bytea", (c) => c.notNull().unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    .execute();

  await db.schema.createIndex("api_keys_tenant_idx").on("api_keys").column("tenant_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("api_keys").execute();
  await db.schema.dropTable("tenants").execute();
}
