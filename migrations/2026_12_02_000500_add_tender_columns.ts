import { type Kysely, sql } from "kysely";

// Frozen in time: this file never imports application code.

// The tenders of each stored transaction (reconciliation's tender totals, issue 16): one element
// per payment, in the sale's order, the three arrays of equal length. Tender type as its proto
// enum number; amount and tip in signed minor units with σ applied like every ledger column (a
// post-void's negated). They live inside the `sale` bytes too, but a reconcile must not decode a
// day of sales per call. Nullable, no default: no table rewrite (PostgreSQL 11+), and null means
// "stored before this migration, not backfilled" (`pos-ingest backfill-ledger` fills them; a
// reconcile counts such rows as `rows_without_ledger`). A sale without payments holds '{}'.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("sales")
    .addColumn("tender_types", sql`int2[]`)
    .addColumn("tender_amounts_minor", sql`int8[]`)
    .addColumn("tender_tips_minor", sql`int8[]`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("sales")
    .dropColumn("tender_types")
    .dropColumn("tender_amounts_minor")
    .dropColumn("tender_tips_minor")
    .execute();
}
