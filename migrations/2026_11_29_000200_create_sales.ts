import { type Kysely, sql } from "kysely";

// Frozen in time: this file never imports application code.

// One row per stored sale. The primary key (tenant_id, idempotency_key) is what makes ingest
// exactly-once: the database, not a read-then-write in the application, refuses a second row.
// It leads with tenant_id so the table can be distributed by tenant later. The sale itself is kept
// as its protobuf encoding (pos.ingest.v1.Sale): exact, compact, readable by any protobuf
// decoder, and it keeps fields newer clients send that this schema does not know yet; the
// columns beside it hold what reports filter and sum on.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sales")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text", (c) => c.notNull())
    .addColumn("id", "uuid", (c) => c.notNull())
    .addColumn("payload_hash", "bytea", (c) => c.notNull())
    .addColumn("accepted_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("location_id", "text", (c) => c.notNull())
    .addColumn("register_id", "text", (c) => c.notNull())
    .addColumn("sale_id", "text", (c) => c.notNull())
    .addColumn("occurred_at", "timestamptz", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("total_minor", "bigint", (c) => c.notNull())
    .addColumn("sale", "bytea", (c) => c.notNull())
    .addPrimaryKeyConstraint("sales_pkey", ["tenant_id", "idempotency_key"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("sales").execute();
}
