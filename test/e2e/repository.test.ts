import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSaleBatch } from "../../src/ingest/batch-write.js";
import { uuidv7 } from "../../src/ingest/canonical.js";
import type { SaleRow } from "../../src/ingest/repository.js";
import { createDatabase, type DatabaseHandle } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// The batch INSERT stores every column exactly as given, on both storage backends: the text
// columns travel in a JSON document, the hash and sale bytes in one binary parameter, the time as
// microseconds, so the offsets and conversions are checked against what comes back.

function row(key: string, saleBytes: Uint8Array, occurredAtMicros: number): SaleRow {
  return {
    tenantId: "acme",
    idempotencyKey: key,
    id: uuidv7(),
    payloadHash: createHash("sha256").update(saleBytes).digest("hex"),
    source: "pos-1",
    locationId: 'Zürich "HQ" \\ 1',
    registerId: "till-😀",
    saleId: `sale-${key}`,
    occurredAtMicros,
    currency: "EUR",
    totalMinor: "9999999999999",
    sale: saleBytes,
  };
}

interface Stored {
  idempotency_key: string;
  id: string;
  payload_hash: string;
  location_id: string;
  register_id: string;
  sale_id: string;
  occurred_us: string;
  total_minor: string;
  sale: Uint8Array;
}

for (const kind of ["postgres", "pglite"] as const) {
  describe(`writeSaleBatch on ${kind}`, () => {
    let testDb: TestDatabase | undefined;
    let handle: DatabaseHandle;

    beforeAll(async () => {
      if (kind === "postgres") {
        testDb = await createTestDatabase();
        handle = await createDatabase({ kind, url: testDb.url, poolMax: 2 });
      } else {
        handle = await createDatabase({ kind, dataDir: undefined });
      }
      await migrateToLatest(handle.db);
    });

    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    it("stores every column exactly, in any batch order, and reports repeats", async () => {
      // Sizes around the varint and alignment boundaries, an empty sale, a long one.
      const sales = [0, 1, 31, 32, 33, 127, 128, 155, 4000].map((n) => randomBytes(n));
      const times = [946_684_800_000_000, 1_768_478_400_123_456, 1_768_478_400_999_999];
      const rows = sales.map((s, i) => row(`k-${9 - i}`, s, times[i % times.length] as number));
      const repeated = { ...(rows[2] as SaleRow), id: uuidv7() };
      const results = await writeSaleBatch(handle.db, [...rows, repeated]);

      expect(results.map((r) => r.inserted)).toEqual([...rows.map(() => true), false]);
      expect(results.map((r) => r.id)).toEqual([...rows.map((r) => r.id), rows[2]?.id]);
      const stored = await sql<Stored>`
        select idempotency_key, id::text as id, encode(payload_hash, 'hex') as payload_hash,
               location_id, register_id, sale_id, total_minor::text as total_minor, sale,
               (extract(epoch from occurred_at) * 1000000)::int8::text as occurred_us
        from sales order by idempotency_key`.execute(handle.db);
      const byKey = new Map(stored.rows.map((s) => [s.idempotency_key, s]));
      expect(byKey.size).toBe(rows.length);
      for (const r of rows) {
        const s = byKey.get(r.idempotencyKey);
        expect(s).toMatchObject({
          id: r.id,
          payload_hash: r.payloadHash,
          location_id: r.locationId,
          register_id: r.registerId,
          sale_id: r.saleId,
          occurred_us: String(r.occurredAtMicros),
          total_minor: r.totalMinor,
        });
        expect(Buffer.from(s?.sale ?? []).equals(Buffer.from(r.sale))).toBe(true);
      }
    });

    it("reads back what an earlier batch stored for a key", async () => {
      const first = row("again", randomBytes(40), 1_768_478_400_000_001);
      const [stored] = await writeSaleBatch(handle.db, [first]);
      const other = row("again", randomBytes(41), 1_768_478_400_000_002);
      const [again] = await writeSaleBatch(handle.db, [other, row("fresh", randomBytes(3), 1)]);
      expect(again).toEqual({ ...stored, inserted: false });
    });
  });
}
