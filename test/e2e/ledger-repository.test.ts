import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ledger } from "../../src/contract/ledger.js";
import { writeSaleBatch } from "../../src/ingest/batch-write.js";
import { fingerprintSale, uuidv7 } from "../../src/ingest/canonical.js";
import { toSaleRow } from "../../src/ingest/mapping.js";
import type { WriteResult } from "../../src/ingest/repository.js";
import type { DatabaseHandle } from "../../src/storage/database.js";
import { DAILY_COLUMNS, type DailyRow, expectedDaily } from "../support/ledger-sales.js";
import { useMigratedDatabase } from "../support/migrated-database.js";
import {
  berlinBakery,
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  zurichKiosk,
} from "../support/receipts-v2.js";

// v2 transactions whose totals add up (the design's worked receipts: VAT included, two added
// taxes with a coupon and a fee, a return with its receipt, cash rounding and its post-void),
// written through the repository as the server writes a validated sale, on both storage
// backends: the view reports them as ledger() says, the README's SQL runs and joins a return to
// its original, and the post-void guards hold on PGlite as on Postgres.

/** The README's `sql` blocks in its Reporting section: the documented queries, run as written. */
const [netSalesSql, dayIndexSql, returnJoinSql] = (() => {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("## Reporting"), readme.indexOf("## Development"));
  return [...section.matchAll(/^```sql\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
})();

/** pg's $1 placeholders as Kysely raw SQL with values. */
function withValues(text: string, values: unknown[]) {
  const parts = text.split(/\$(\d+)/);
  return sql.join(
    parts.map((p, i) => (i % 2 === 0 ? sql.raw(p) : sql`${values[Number(p) - 1]}`)),
    sql.raw(""),
  );
}

const DAY_MS = 86_400_000;

for (const kind of ["postgres", "pglite"] as const) {
  describe(`the ledger on ${kind}`, () => {
    let handle: DatabaseHandle;
    useMigratedDatabase(kind, (h) => {
      handle = h;
    });

    /** Writes sales as the server does once they are valid; one batch, one statement. */
    function write(sales: readonly Sale[], tenant = "acme"): Promise<WriteResult[]> {
      const rows = sales.map((sale) => {
        const key = `pos:${sale.source}:${sale.locationId}:${sale.saleId}`;
        return toSaleRow(tenant, key, uuidv7(), fingerprintSale(sale), sale);
      });
      return writeSaleBatch(handle.db, tenant, rows);
    }

    async function daily(tenant: string): Promise<DailyRow[]> {
      const rows = await sql<DailyRow>`
        select ${sql.raw(DAILY_COLUMNS)} from net_sales_daily where tenant_id = ${tenant}
        order by location_id collate "C", currency collate "C", business_day`.execute(handle.db);
      return rows.rows;
    }

    it("reports v2 receipts as ledger() says, a return on its own day, a void netting to zero", async () => {
      const now = Date.now();
      // Sold at 01:30 UTC on the POS's previous business day (a shift closing after midnight).
      const bakery = berlinBakery({
        occurredAt: new Date("2026-12-01T01:30:00Z"),
        businessDay: "2026-11-30",
      });
      const store = chicagoStore({ occurredAt: new Date(now - 2 * DAY_MS) });
      const returned = chicagoReturn({
        originalSaleId: store.saleId,
        occurredAt: new Date(now - DAY_MS),
      });
      const kiosk = zurichKiosk({ occurredAt: new Date(now - 3_600_000) });
      const voided = postVoidOf(kiosk, { saleId: "K-78" });
      const sales = [bakery, store, returned, kiosk, voided];
      const results = await write(sales);
      expect(results.map((r) => "inserted" in r && r.inserted)).toEqual(sales.map(() => true));

      const reported = await daily("acme");
      expect(reported).toEqual(expectedDaily(sales));
      expect(reported.find((r) => r.location_id === "berlin-1")).toMatchObject({
        business_day: "2026-11-30",
        gross_minor: "1579",
        tax_minor: "219",
        net_minor: "1322",
        total_minor: "1541",
      });
      expect(reported.filter((r) => r.location_id === "chicago-1").map((r) => r.net_minor)).toEqual(
        ["2900", "-725"],
      );
      expect(reported.find((r) => r.location_id === "zurich-1")).toMatchObject({
        transactions: "2",
        post_voids: "1",
        gross_minor: "0",
        tax_minor: "0",
        net_minor: "0",
        total_minor: "0",
      });

      // The README's optional day index builds (PGlite has one connection: no `concurrently`),
      // and the query below reads the same through it.
      const index = kind === "postgres" ? dayIndexSql : dayIndexSql?.replace("concurrently ", "");
      await sql.raw(index as string).execute(handle.db);

      // The README's net-sales query over the three days.
      const from = new Date(now - 3 * DAY_MS).toISOString().slice(0, 10);
      const to = new Date(now).toISOString().slice(0, 10);
      const net = await sql<{ location_id: string; net_minor: string }>`${withValues(
        netSalesSql as string,
        ["acme", from, to],
      )}`.execute(handle.db);
      expect(net.rows.map((r) => [r.location_id, String(r.net_minor)])).toEqual([
        ["berlin-1", "1322"],
        ["chicago-1", "2900"],
        ["chicago-1", "-725"],
        ["zurich-1", "0"],
      ]);

      // The README's join: the return finds its sale, the void its voided sale.
      const joined = await sql<{
        kind: string;
        net_minor: string;
        original_net: string;
      }>`${withValues(returnJoinSql as string, ["acme"])}`.execute(handle.db);
      expect(
        joined.rows.map((r) => [r.kind, String(r.net_minor), String(r.original_net)]).sort(),
      ).toEqual([
        ["post_void", String(ledger(voided).netMinor), "1341"],
        ["return", "-725", "2900"],
      ]);
    });

    it("stores one void per original, and only one that cancels a stored non-void exactly", async () => {
      const t = "guards";
      const sale = chicagoStore({ occurredAt: new Date(Date.now() - 60_000) });
      const other = zurichKiosk({ occurredAt: new Date(Date.now() - 60_000) });
      const v = postVoidOf(sale, { saleId: "V-1" });
      // A sale and its void in one batch; a second void of it held back; a void of the void.
      const first = await write(
        [sale, v, postVoidOf(sale, { saleId: "V-2" }), postVoidOf(v, { saleId: "V-3" }), other],
        t,
      );
      expect(first.map(outcome)).toEqual([
        "inserted",
        "inserted",
        // Held back, then explained by what the batch stored.
        expect.stringMatching(/already voided \(by the post-void stored under key .*:V-1\)/),
        expect.stringMatching(/is itself a post-void/),
        "inserted",
      ]);
      // Across batches: a retry is a duplicate, the rest are refused by what is stored.
      const mismatched = postVoidOf(other, { saleId: "V-4" });
      mismatched.totals = { ...(other.totals as NonNullable<Sale["totals"]>), tipMinor: 1n };
      const returnVoid = postVoidOf(other, { saleId: "V-5" });
      if (returnVoid.original) returnVoid.original.kind = 2; // RETURN
      const again = await write(
        [v, postVoidOf(sale, { saleId: "V-2" }), postVoidOf(v, { saleId: "V-3" }), mismatched],
        t,
      );
      expect(again.map(outcome)).toEqual([
        "duplicate",
        expect.stringMatching(
          /already voided \(by the post-void stored under key pos:acme-pos:chicago-1:V-1\)/,
        ),
        expect.stringMatching(/is itself a post-void/),
        expect.stringMatching(/has other totals than this void/),
      ]);
      expect((await write([returnVoid], t)).map(outcome)).toEqual([
        expect.stringMatching(/is a sale, not the return that original.kind says/),
      ]);
      const stored = await sql<{ n: string }>`
        select count(*)::text as n from sales where tenant_id = ${t}`.execute(handle.db);
      expect(stored.rows[0]?.n).toBe("3");
    });

    it("checks a void that names its original's key against the row under that key", async () => {
      const t = "by-key";
      const sale = berlinBakery({ occurredAt: new Date(Date.now() - 60_000), businessDay: "" });
      const another = chicagoStore({ occurredAt: new Date(Date.now() - 60_000) });
      await write([sale, another], t);
      // Names `another`'s key but `sale`'s identity: the row under the key is another transaction.
      const v = postVoidOf(sale, { saleId: "V-1" });
      if (v.original) v.original.idempotencyKey = `pos:acme-pos:chicago-1:${another.saleId}`;
      expect((await write([v], t)).map(outcome)).toEqual([
        expect.stringMatching(/stored under original.idempotency_key is another transaction/),
      ]);
      if (v.original) v.original.idempotencyKey = `pos:acme-pos:berlin-1:${sale.saleId}`;
      expect((await write([v], t)).map(outcome)).toEqual(["inserted"]);
    });
  });
}

function outcome(r: WriteResult): string {
  if ("originalConflict" in r) return r.originalConflict;
  return r.inserted ? "inserted" : "duplicate";
}
