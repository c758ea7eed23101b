import { type Kysely, sql } from "kysely";

// Frozen in time: this file never imports application code.

// At most one stored post-void per original transaction (its POS identity, as the void states it
// resolved): the database, not a read-then-write, refuses a second void, however many replicas
// write at once. Partial, so it costs nothing for the sales, returns and exchanges that make up
// nearly every row. `if not exists`: a large deployment builds it `concurrently` beforehand.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("sales_one_void_per_original")
    .ifNotExists()
    .unique()
    .on("sales")
    .columns(["tenant_id", "original_source", "original_location_id", "original_sale_id"])
    .where(sql<boolean>`kind = 'post_void'`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("sales_one_void_per_original").execute();
}
