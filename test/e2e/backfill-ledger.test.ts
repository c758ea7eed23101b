import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { type Kysely, Migrator, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { migrations } from "../../migrations/index.js";
import { ledger } from "../../src/contract/ledger.js";
import { canonicalSaleBytes, uuidv7 } from "../../src/ingest/canonical.js";
import { backfillLedger } from "../../src/ingest/ledger-backfill.js";
import { timestampToMicros } from "../../src/ingest/mapping.js";
import { createDatabase, type Database, type DatabaseHandle } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { DAILY_COLUMNS, type DailyRow, expectedDaily, v1Sales } from "../support/ledger-sales.js";

// Rows stored before migration 000300 have no ledger; `backfill-ledger` fills it from each row's
// own sale bytes. The database is taken to the old schema with the real migrations, filled the
// way the old code stored rows (its columns only), migrated up, backfilled, and then must report
// exactly what ledger() says of those sales.

const run = promisify(execFile);
const BEFORE_LEDGER = "2026_11_29_000200_create_sales";
/** The last migration before the tender columns (000500). */
const BEFORE_TENDERS = "2026_12_02_000400_add_one_void_per_original";

async function migrateTo(db: Kysely<Database>, name: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateTo(name);
  if (result.error) throw result.error;
}

/** Stores sales as the code before the ledger did: the v1 columns, in one plain INSERT. */
async function storeAsBefore(db: Kysely<Database>, tenant: string, sales: readonly Sale[]) {
  const rows = sales.map((sale) => {
    const bytes = canonicalSaleBytes(sale);
    return {
      key: `pos:${sale.source}:${sale.locationId}:${sale.saleId}`,
      hash: createHash("sha256").update(bytes).digest("hex"),
      occurredUs: timestampToMicros(sale.occurredAt as Timestamp),
      sale,
      bytes: Buffer.from(bytes).toString("hex"),
    };
  });
  await sql`
    insert into sales (tenant_id, idempotency_key, id, payload_hash, source, location_id,
                       register_id, sale_id, occurred_at, currency, total_minor, sale)
    select ${tenant}, r.key, r.id, decode(r.hash, 'hex'), r.source, r.location_id, r.register_id,
           r.sale_id, timestamptz 'epoch' + r.occurred_us * interval '1 microsecond', r.currency,
           r.total_minor, decode(r.bytes, 'hex')
    from json_to_recordset(${JSON.stringify(
      rows.map((r) => ({
        key: r.key,
        id: uuidv7(),
        hash: r.hash,
        source: r.sale.source,
        location_id: r.sale.locationId,
        register_id: r.sale.registerId,
        sale_id: r.sale.saleId,
        occurred_us: r.occurredUs,
        currency: r.sale.currency,
        total_minor: (r.sale.totals?.totalMinor ?? 0n).toString(),
        bytes: r.bytes,
      })),
    )}::json) as r(key text, id uuid, hash text, source text, location_id text,
                   register_id text, sale_id text, occurred_us int8, currency text,
                   total_minor int8, bytes text)`.execute(db);
}

async function daily(db: Kysely<Database>, tenant: string): Promise<DailyRow[]> {
  const result = await sql<DailyRow>`
    select ${sql.raw(DAILY_COLUMNS)} from net_sales_daily where tenant_id = ${tenant}
    order by location_id collate "C", currency collate "C", business_day`.execute(db);
  return result.rows;
}

async function withoutTenders(db: Kysely<Database>): Promise<number> {
  const result = await sql<{ n: string }>`
    select count(*)::text as n from sales where tender_types is null`.execute(db);
  return Number(result.rows[0]?.n);
}

async function withoutLedger(db: Kysely<Database>): Promise<number> {
  const result = await sql<{ n: string }>`
    select coalesce(sum(rows_without_ledger), 0)::text as n from net_sales_daily`.execute(db);
  return Number(result.rows[0]?.n);
}

const STORES = ["store-1", "store-2", "store-3"];

for (const kind of ["postgres", "pglite"] as const) {
  describe(`backfill-ledger on ${kind}`, () => {
    let testDb: TestDatabase | undefined;
    let handle: DatabaseHandle;
    // 2,345 sales of one tenant: three batches of 1,000 and a part, as the command runs them.
    const sales = fc.sample(v1Sales(STORES, { minLength: 469, maxLength: 469 }), 5).flat();
    const other = fc.sample(v1Sales(STORES, { maxLength: 30 }), 1).flat();

    beforeAll(async () => {
      if (kind === "postgres") {
        testDb = await createTestDatabase();
        handle = createDatabase({ kind, url: testDb.url, poolMax: 2 });
      } else {
        handle = createDatabase({ kind, dataDir: undefined });
      }
      await migrateTo(handle.db, BEFORE_LEDGER);
      await storeAsBefore(handle.db, "acme", sales);
      await storeAsBefore(handle.db, "globex", other);
      // A row whose bytes are no sale: reported and left alone, never guessed.
      await sql`
        insert into sales (tenant_id, idempotency_key, id, payload_hash, source, location_id,
                           register_id, sale_id, occurred_at, currency, total_minor, sale)
        values ('zz', 'broken', ${uuidv7()}, ${randomBytes(32)}, 's', 'l', 'r', 'x', now(),
                'EUR', 0, ${Buffer.from([0xff, 0xff, 0xff])})`.execute(handle.db);
      await migrateToLatest(handle.db);
    });

    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    it("fills every row from its own sale, restartably, and the view then sums ledger()", async () => {
      expect(sales).toHaveLength(2_345);
      expect(await withoutLedger(handle.db)).toBe(sales.length + other.length + 1);

      // A run that dies after its first batch leaves that batch committed.
      const died = new Error("killed");
      await expect(
        backfillLedger(handle.db, {
          batchSize: 1_000,
          onBatch: () => {
            throw died;
          },
        }),
      ).rejects.toBe(died);
      expect(await withoutLedger(handle.db)).toBe(sales.length + other.length + 1 - 1_000);

      const summary = await backfillLedger(handle.db, { batchSize: 1_000 });
      expect(summary).toMatchObject({
        // Tenant by tenant: acme's last 1,345 rows in two batches, globex's (if any) and zz's in one.
        batches: 2 + (other.length > 0 ? 1 : 0) + 1,
        read: sales.length + other.length + 1 - 1_000,
        filled: sales.length + other.length - 1_000,
        unfilled: 1,
        unfilledRows: [{ tenantId: "zz", idempotencyKey: "broken" }],
      });
      // Idempotent: a rerun reads only the row it cannot fill and changes nothing.
      expect(await backfillLedger(handle.db, { batchSize: 1_000 })).toMatchObject({
        read: 1,
        filled: 0,
        unfilled: 1,
      });

      await sql`delete from sales where tenant_id = 'zz'`.execute(handle.db);
      expect(await withoutLedger(handle.db)).toBe(0);
      expect(await daily(handle.db, "acme")).toEqual(expectedDaily(sales));
      expect(await daily(handle.db, "globex")).toEqual(expectedDaily(other));

      // Row by row, the columns are what ledger() says, as the server would have written them.
      const sample = sales[1_234] as Sale;
      const stored = await sql<Record<string, string | null>>`
        select kind, original_sale_id, business_day, gross_minor::text, discount_minor::text,
               service_charge_minor::text, tax_minor::text, included_tax_minor::text,
               rounding_minor::text, tip_minor::text, net_minor::text, total_minor::text
        from sales where tenant_id = 'acme' and sale_id = ${sample.saleId}`.execute(handle.db);
      const l = ledger(sample);
      expect(stored.rows).toEqual([
        {
          kind: "sale",
          original_sale_id: null,
          business_day: null,
          gross_minor: String(l.grossMinor),
          discount_minor: String(l.discountMinor),
          service_charge_minor: "0",
          tax_minor: String(l.taxMinor),
          included_tax_minor: "0",
          rounding_minor: "0",
          tip_minor: "0",
          net_minor: String(l.netMinor),
          total_minor: String(l.totalMinor),
        },
      ]);
    });

    it("fills the tenders of rows stored with a ledger but before the tender columns", async () => {
      // Down to before 000500 and up again: every row has its ledger and null tenders, as a row
      // stored by the build before it.
      await migrateTo(handle.db, BEFORE_TENDERS);
      await migrateToLatest(handle.db);
      const rows = sales.length + other.length;
      expect(await withoutTenders(handle.db)).toBe(rows);
      expect(await withoutLedger(handle.db)).toBe(0);

      const summary = await backfillLedger(handle.db, { batchSize: 1_000 });
      expect(summary).toMatchObject({ read: rows, filled: rows, unfilled: 0 });
      expect(await withoutTenders(handle.db)).toBe(0);
      expect(await backfillLedger(handle.db, { batchSize: 1_000 })).toMatchObject({ read: 0 });
      // The ledger columns are rewritten with the values they had.
      expect(await daily(handle.db, "acme")).toEqual(expectedDaily(sales));

      // A paid sale holds its card payment, an unpaid one (total 0) empty arrays, never null.
      const paid = sales.find((s) => s.payments.length === 1) as Sale;
      const unpaid = sales.find((s) => s.payments.length === 0);
      const tenders = async (sale: Sale) =>
        (
          await sql<{ types: string; amounts: string; tips: string }>`
            select tender_types::text as types, tender_amounts_minor::text as amounts,
                   tender_tips_minor::text as tips
            from sales where tenant_id = 'acme' and sale_id = ${sale.saleId}`.execute(handle.db)
        ).rows;
      expect(await tenders(paid)).toEqual([
        { types: "{2}", amounts: `{${paid.totals?.totalMinor}}`, tips: "{0}" },
      ]);
      if (unpaid)
        expect(await tenders(unpaid)).toEqual([{ types: "{}", amounts: "{}", tips: "{}" }]);
    });

    it("migrates down to the old schema and up again, keeping every row", async () => {
      const count = async () =>
        (await sql<{ n: string }>`select count(*)::text as n from sales`.execute(handle.db)).rows[0]
          ?.n;
      const before = await count();
      await migrateTo(handle.db, BEFORE_LEDGER);
      await expect(sql`select net_minor from sales`.execute(handle.db)).rejects.toThrow(
        /net_minor/,
      );
      expect(await count()).toBe(before);
      await migrateToLatest(handle.db);
      expect(await withoutLedger(handle.db)).toBe(Number(before));
    });
  });
}

describe("pos-ingest backfill-ledger", () => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  async function cli(...args: string[]) {
    return run("node", ["dist/src/cli/main.js", "backfill-ledger", ...args], {
      env: { ...process.env, DATABASE_URL: testDb.url, LOG_LEVEL: "silent" },
    }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
  }

  it("refuses a schema that is behind, then fills in batches and says what it did", async () => {
    const handle = createDatabase({ kind: "postgres", url: testDb.url, poolMax: 2 });
    try {
      await migrateTo(handle.db, BEFORE_LEDGER);
      const sales = fc.sample(v1Sales(STORES, { minLength: 50, maxLength: 50 }), 5).flat();
      await storeAsBefore(handle.db, "acme", sales);

      const behind = await cli();
      expect(behind.code).toBe(1);
      expect(behind.stderr).toMatch(/schema is behind.*npm run migrate/);

      await migrateToLatest(handle.db);
      const first = await cli("--batch-size", "100");
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toBe(
        [
          "batch 1: 100 rows read, 100 filled",
          "batch 2: 200 rows read, 200 filled",
          "batch 3: 250 rows read, 250 filled",
          "backfilled 250 rows in 3 batches",
          "",
        ].join("\n"),
      );
      expect(await cli()).toMatchObject({
        code: 0,
        stdout: "nothing to backfill: every row has its ledger\n",
      });
      expect(await daily(handle.db, "acme")).toEqual(expectedDaily(sales));
    } finally {
      await handle.close();
    }
  });
});
