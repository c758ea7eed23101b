import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { type SaleLedger, ZERO_AMOUNTS } from "../../src/contract/ledger.js";
import { writeSaleBatch } from "../../src/ingest/batch-write.js";
import { uuidv7 } from "../../src/ingest/canonical.js";
import type { SaleRow, StoredSale } from "../../src/ingest/repository.js";
import type { DatabaseHandle } from "../../src/storage/database.js";
import { useMigratedDatabase } from "../support/migrated-database.js";

// The batch INSERT stores every column exactly as given, on both storage backends: the text
// columns travel in a JSON document, the hash and sale bytes in one binary parameter, the time as
// microseconds, so the offsets and conversions are checked against what comes back.

/** Every ledger column set, signs mixed, int64 extremes, text that needs escaping. */
const FULL_LEDGER: SaleLedger = {
  kind: "exchange",
  original: {
    source: 'pos-"1"',
    locationId: "Zürich \\ 2",
    saleId: "R-😀",
    idempotencyKey: "pos:a:b:c",
    kind: "sale",
  },
  businessDay: "2026-02-28",
  grossMinor: -9_223_372_036_854_775_807n,
  discountMinor: 9_223_372_036_854_775_807n,
  serviceChargeMinor: -1n,
  taxMinor: 2n,
  includedTaxMinor: -3n,
  roundingMinor: 4n,
  tipMinor: -5n,
  netMinor: 6n,
  totalMinor: 9_999_999_999_999n,
  // Both signs, int64 extremes, a repeated type, a tip on one line only.
  tenders: [
    { tenderType: TenderType.CARD, amountMinor: -9_223_372_036_854_775_807n, tipMinor: 0n },
    { tenderType: TenderType.CASH, amountMinor: 9_223_372_036_854_775_807n, tipMinor: -5n },
    { tenderType: TenderType.CARD, amountMinor: 1n, tipMinor: 0n },
  ],
};

/** Payments without a tip: the tips are left out of the document and stored as zeros. */
const UNTIPPED_LEDGER: SaleLedger = {
  ...FULL_LEDGER,
  tenders: [
    { tenderType: TenderType.GIFT_CARD, amountMinor: 700n, tipMinor: 0n },
    { tenderType: TenderType.OTHER, amountMinor: -2n, tipMinor: 0n },
  ],
};

/** A plain sale's ledger: every value that is left out of the document when it is the default. */
const ZERO_LEDGER: SaleLedger = {
  kind: "sale",
  original: null,
  businessDay: null,
  ...ZERO_AMOUNTS,
  totalMinor: 9_999_999_999_999n,
  // No payments: empty arrays, not null (null is "not filled yet").
  tenders: [],
};

function row(
  key: string,
  saleBytes: Uint8Array,
  occurredAtMicros: number,
  ledger: SaleLedger = FULL_LEDGER,
): SaleRow {
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
    ledger,
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
  ledger: unknown[];
}

/** The ledger columns a row is expected to hold, in the order `stored` selects them. */
function ledgerColumns(l: SaleLedger): unknown[] {
  const o = l.original;
  return [
    l.kind,
    o?.source ?? null,
    o?.locationId ?? null,
    o?.saleId ?? null,
    o?.idempotencyKey ?? null,
    o?.kind ?? null,
    l.businessDay,
    ...[
      l.grossMinor,
      l.discountMinor,
      l.serviceChargeMinor,
      l.taxMinor,
      l.includedTaxMinor,
      l.roundingMinor,
      l.tipMinor,
      l.netMinor,
    ].map(String),
    // As PostgreSQL prints an array.
    `{${l.tenders.map((t) => t.tenderType).join(",")}}`,
    `{${l.tenders.map((t) => t.amountMinor).join(",")}}`,
    `{${l.tenders.map((t) => t.tipMinor).join(",")}}`,
  ];
}

for (const kind of ["postgres", "pglite"] as const) {
  describe(`writeSaleBatch on ${kind}`, () => {
    let handle: DatabaseHandle;
    useMigratedDatabase(kind, (h) => {
      handle = h;
    });

    it("stores every column exactly, in any batch order, and reports repeats", async () => {
      // Sizes around the varint and alignment boundaries, an empty sale, a long one.
      const sales = [0, 1, 31, 32, 33, 127, 128, 155, 4000].map((n) => randomBytes(n));
      const times = [946_684_800_000_000, 1_768_478_400_123_456, 1_768_478_400_999_999];
      const rows = sales.map((s, i) =>
        row(
          `k-${9 - i}`,
          s,
          times[i % times.length] as number,
          [FULL_LEDGER, ZERO_LEDGER, UNTIPPED_LEDGER][i % 3] as SaleLedger,
        ),
      );
      const repeated = { ...(rows[2] as SaleRow), id: uuidv7() };
      const results = (await writeSaleBatch(handle.db, "acme", [
        ...rows,
        repeated,
      ])) as StoredSale[];

      expect(results.map((r) => r.inserted)).toEqual([...rows.map(() => true), false]);
      expect(results.map((r) => r.id)).toEqual([...rows.map((r) => r.id), rows[2]?.id]);
      const stored = await sql<Stored>`
        select idempotency_key, id::text as id, encode(payload_hash, 'hex') as payload_hash,
               location_id, register_id, sale_id, total_minor::text as total_minor, sale,
               (extract(epoch from occurred_at) * 1000000)::int8::text as occurred_us,
               json_build_array(kind, original_source, original_location_id, original_sale_id,
                 original_idempotency_key, original_kind, business_day::text,
                 gross_minor::text, discount_minor::text, service_charge_minor::text,
                 tax_minor::text, included_tax_minor::text, rounding_minor::text,
                 tip_minor::text, net_minor::text, tender_types::text,
                 tender_amounts_minor::text, tender_tips_minor::text) as ledger
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
          ledger: ledgerColumns(r.ledger),
        });
        expect(Buffer.from(s?.sale ?? []).equals(Buffer.from(r.sale))).toBe(true);
      }
    });

    it("reads back what an earlier batch stored for a key", async () => {
      const first = row("again", randomBytes(40), 1_768_478_400_000_001);
      const [stored] = await writeSaleBatch(handle.db, "acme", [first]);
      const other = row("again", randomBytes(41), 1_768_478_400_000_002);
      const [again] = await writeSaleBatch(handle.db, "acme", [
        other,
        row("fresh", randomBytes(3), 1),
      ]);
      expect(again).toEqual({ ...stored, inserted: false });
    });
  });
}
