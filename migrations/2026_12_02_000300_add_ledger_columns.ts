import { type Kysely, sql } from "kysely";

// Frozen in time: this file never imports application code.

// The ledger of sale model v2 (docs/design/sale-model-v2.md, section 5): what each stored
// transaction does to the books, as signed columns reports can sum, beside the sale bytes they
// are computed from. Additive: a column with a constant default and nullable columns cost no
// table rewrite (PostgreSQL 11+), and the view reads only columns. Rows stored before this
// migration keep null ledger values until `pos-ingest backfill-ledger` fills them from their own
// `sale` bytes; the view counts them as `rows_without_ledger`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("sales")
    .addColumn("kind", "text", (c) =>
      c.notNull().defaultTo("sale").check(sql`kind in ('sale', 'return', 'exchange', 'post_void')`),
    )
    // The original a return, exchange or void refers to, its source and location resolved.
    .addColumn("original_source", "text")
    .addColumn("original_location_id", "text")
    .addColumn("original_sale_id", "text")
    .addColumn("original_idempotency_key", "text")
    .addColumn("original_kind", "text", (c) =>
      c.check(sql`original_kind in ('sale', 'return', 'exchange', 'post_void')`),
    )
    // The POS's business day; null: not stated (every v1 sale), the UTC date of occurred_at.
    .addColumn("business_day", "date")
    // Signed amounts in minor units (a void's negated); null: stored before, not backfilled.
    .addColumn("gross_minor", "bigint")
    .addColumn("discount_minor", "bigint")
    .addColumn("service_charge_minor", "bigint")
    // Added and included tax together; included_tax_minor is the included part.
    .addColumn("tax_minor", "bigint")
    .addColumn("included_tax_minor", "bigint")
    .addColumn("rounding_minor", "bigint")
    .addColumn("tip_minor", "bigint")
    .addColumn("net_minor", "bigint")
    .execute();

  // `if not exists`: a large deployment builds it `concurrently` beforehand, under this name.
  // The POS identity finds the original of a post-void (the guard) and of a return (reports).
  // No index for the daily view: on every stored sale it cost ~3 us of Postgres CPU, a tenth of
  // the stream's throughput (bench/README.md); the README gives it for deployments that report
  // often on large tables.
  await db.schema
    .createIndex("sales_pos_identity_idx")
    .ifNotExists()
    .on("sales")
    .columns(["tenant_id", "source", "location_id", "sale_id"])
    .execute();

  // Net sales per location, currency and business day. Grouped by currency so EUR and CHF are
  // never added; a return or void counts on its own business day, the day the money moved.
  await sql`
    create view net_sales_daily as
    select tenant_id, location_id, currency,
           coalesce(business_day, (occurred_at at time zone 'UTC')::date) as business_day,
           count(*) as transactions,
           count(*) filter (where kind = 'return') as returns,
           count(*) filter (where kind = 'post_void') as post_voids,
           sum(gross_minor) as gross_minor,
           sum(discount_minor) as discount_minor,
           sum(service_charge_minor) as service_charge_minor,
           sum(tax_minor) as tax_minor,
           sum(included_tax_minor) as included_tax_minor,
           sum(rounding_minor) as rounding_minor,
           sum(tip_minor) as tip_minor,
           sum(net_minor) as net_minor,
           sum(total_minor) as total_minor,
           count(*) filter (where net_minor is null) as rows_without_ledger
    from sales
    group by 1, 2, 3, 4`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropView("net_sales_daily").execute();
  await db.schema.dropIndex("sales_pos_identity_idx").execute();
  await db.schema
    .alterTable("sales")
    .dropColumn("kind")
    .dropColumn("original_source")
    .dropColumn("original_location_id")
    .dropColumn("original_sale_id")
    .dropColumn("original_idempotency_key")
    .dropColumn("original_kind")
    .dropColumn("business_day")
    .dropColumn("gross_minor")
    .dropColumn("discount_minor")
    .dropColumn("service_charge_minor")
    .dropColumn("tax_minor")
    .dropColumn("included_tax_minor")
    .dropColumn("rounding_minor")
    .dropColumn("tip_minor")
    .dropColumn("net_minor")
    .execute();
}
