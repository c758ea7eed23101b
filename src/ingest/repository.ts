import { sql } from "kysely";
import type { SaleLedger } from "../contract/ledger.js";
import type { Executor } from "../storage/database.js";
import { LEDGER_RECORD_COLUMNS, ledgerColumns, TENDER_VALUES } from "./ledger-repository.js";
import { explainRefusedVoids, voidGuard } from "./void-guard.js";

/** A sale ready to be written, keyed by (tenantId, idempotencyKey). */
export interface SaleRow {
  readonly tenantId: string;
  readonly idempotencyKey: string;
  /** Record id to use if this row is the one that gets stored. */
  readonly id: string;
  /** Hex SHA-256 of the sale's canonical bytes; tells a true retry from a reused key. */
  readonly payloadHash: string;
  readonly source: string;
  readonly locationId: string;
  readonly registerId: string;
  readonly saleId: string;
  /** Microseconds since the epoch: Postgres' precision (nanoseconds are truncated). */
  readonly occurredAtMicros: number;
  readonly currency: string;
  /** Decimal string: int64 does not fit a JS number. */
  readonly totalMinor: string;
  /** The sale's protobuf encoding. */
  readonly sale: Uint8Array;
  /** Its ledger values (src/contract/ledger.ts); `ledger.totalMinor` is `totalMinor`. */
  readonly ledger: SaleLedger;
}

/** What the database holds for a key after a write. */
export interface StoredSale {
  readonly tenantId: string;
  readonly idempotencyKey: string;
  readonly id: string;
  /** Microseconds since the epoch: Postgres' own precision, kept exactly for replays. */
  readonly acceptedAtMicros: bigint;
  readonly payloadHash: string;
  /** True when this write stored the row; false when it was already there. */
  readonly inserted: boolean;
}

/**
 * A post-void the database refused because of what it holds about the original (already voided,
 * itself a void, another kind, or not cancelled exactly): nothing was stored under its key.
 */
export interface OriginalConflict {
  readonly tenantId: string;
  readonly idempotencyKey: string;
  /** Why, for the client; the field is `sale.original`. */
  readonly originalConflict: string;
}

/** What became of one row of a batch. */
export type WriteResult = StoredSale | OriginalConflict;

interface InsertedRow {
  idempotency_key: string;
  id: string;
  accepted_us: string;
}
interface ExistingRow extends InsertedRow {
  payload_hash: string;
}

/** Bytes of a SHA-256, stored ahead of each sale in the binary parameter. */
const HASH_BYTES = 32;

/**
 * Writes a batch of one tenant's sales in one INSERT statement and reports, for every row, what
 * the database now holds under its key. Rows whose key already exists are left untouched (ON CONFLICT DO
 * NOTHING) and are read back in a second statement: it runs after the first has waited for any
 * concurrent writer of the same key to commit, so it sees that writer's row. A post-void that
 * conflicts with its original (see void-guard.ts) is not written either and comes back as an
 * OriginalConflict, explained by a third statement that runs only then.
 *
 * `rows` must not repeat a (tenantId, idempotencyKey) pair, nor hold two post-voids of one
 * original (the second would be refused whichever came first). They are written in key order so
 * two batches that share keys lock them in the same order and cannot deadlock.
 */
export async function insertSales(
  db: Executor,
  tenantId: string,
  rows: readonly SaleRow[],
): Promise<WriteResult[]> {
  if (rows.length === 0) return [];
  assertOneTenant(tenantId, rows);
  const order = rows.map((_, i) => i).sort((a, b) => compareKeys(rows[a], rows[b]));
  const { document, binary } = batchParameters(rows, order);
  // Ledger values that are zero or absent (most of them on a plain sale) are left out of the
  // document and defaulted here: the document stays near its v1 size.
  // A batch without post-voids (nearly every batch) skips the guard altogether. ON CONFLICT has
  // no target so that it covers the one-void-per-original index as well as the key.
  const guard = rows.some((r) => r.ledger.kind === "post_void")
    ? sql`where ${voidGuard(tenantId)}`
    : sql``;
  const inserted = await sql<InsertedRow>`
    with r as (
      select * from json_to_recordset(${document}::json) as r(
        idempotency_key text, id uuid, source text, location_id text,
        register_id text, sale_id text, occurred_us int8, currency text, total_minor bigint,
        at int4, len int4, ${LEDGER_RECORD_COLUMNS}))
    insert into sales (tenant_id, idempotency_key, id, payload_hash, source, location_id,
                       register_id, sale_id, occurred_at, currency, total_minor, sale,
                       kind, original_source, original_location_id, original_sale_id,
                       original_idempotency_key, original_kind, business_day, gross_minor,
                       discount_minor, service_charge_minor, tax_minor, included_tax_minor,
                       rounding_minor, tip_minor, net_minor, tender_types,
                       tender_amounts_minor, tender_tips_minor)
    select ${tenantId}::text, r.idempotency_key, r.id, substring(b.bytes from r.at for 32), r.source,
           r.location_id, r.register_id, r.sale_id,
           timestamptz 'epoch' + r.occurred_us * interval '1 microsecond', r.currency,
           r.total_minor, substring(b.bytes from r.at + 32 for r.len),
           coalesce(r.kind, 'sale'), r.o_source, r.o_location_id, r.o_sale_id, r.o_key, r.o_kind,
           r.business_day, coalesce(r.gross, 0), coalesce(r.discount, 0),
           coalesce(r.service_charge, 0), coalesce(r.tax, 0), coalesce(r.included_tax, 0),
           coalesce(r.rounding, 0), coalesce(r.tip, 0), coalesce(r.net, 0), ${TENDER_VALUES}
    from r, (select ${binary}::bytea as bytes) as b
    ${guard}
    on conflict do nothing
    returning idempotency_key, id::text as id,
              (extract(epoch from accepted_at) * 1000000)::int8::text as accepted_us`.execute(db);

  // One tenant: the idempotency key alone names a row of the batch.
  const index = new Map<string, number>();
  rows.forEach((r, i) => {
    index.set(r.idempotencyKey, i);
  });
  const results: (WriteResult | undefined)[] = new Array(rows.length);
  for (const row of inserted.rows) {
    const i = index.get(row.idempotency_key) as number;
    results[i] = { ...toStored(tenantId, row, (rows[i] as SaleRow).payloadHash), inserted: true };
  }
  if (inserted.rows.length < rows.length) {
    const missing = rows.filter((_, i) => results[i] === undefined).map((r) => r.idempotencyKey);
    for (const row of await findSales(db, tenantId, missing)) {
      results[index.get(row.idempotencyKey) as number] = row;
    }
  }
  const refused = rows.filter((r, i) => results[i] === undefined && r.ledger.kind === "post_void");
  if (refused.length > 0) {
    const reasons = await explainRefusedVoids(db, tenantId, refused);
    refused.forEach((r, j) => {
      results[index.get(r.idempotencyKey) as number] = {
        tenantId: r.tenantId,
        idempotencyKey: r.idempotencyKey,
        // Nothing holds any more: a concurrent writer changed what is stored meanwhile.
        originalConflict:
          reasons[j] ?? "conflicts with what was stored about the original; retry to see why",
      };
    });
  }
  return results.map((stored) => {
    // Unreachable unless a row vanished between the statements; sales are never deleted.
    if (!stored) throw new Error("sale neither inserted nor found");
    return stored;
  });
}

/**
 * The two parameters of the batch INSERT, whatever the batch size (far below the 65,535-parameter
 * cap, and reading the same on pg and PGlite): the text columns of the rows, in `order`, as one
 * JSON document, and every row's payload hash and sale bytes back to back in one bytea, which pg
 * sends as binary. Hex inside the JSON document cost ~40% more Postgres CPU per row (decode, a
 * document twice the size) and the hex encoding.
 */
export function batchParameters(
  rows: readonly SaleRow[],
  order: readonly number[],
): { document: string; binary: Buffer } {
  const binary = Buffer.allocUnsafe(rows.reduce((n, r) => n + HASH_BYTES + r.sale.byteLength, 0));
  let at = 0;
  const columns = order.map((i) => {
    const r = rows[i] as SaleRow;
    binary.write(r.payloadHash, at, HASH_BYTES, "hex");
    binary.set(r.sale, at + HASH_BYTES);
    const column = {
      idempotency_key: r.idempotencyKey,
      id: r.id,
      source: r.source,
      location_id: r.locationId,
      register_id: r.registerId,
      sale_id: r.saleId,
      occurred_us: r.occurredAtMicros,
      currency: r.currency,
      total_minor: r.totalMinor,
      // 1-based, as SQL's substring counts.
      at: at + 1,
      len: r.sale.byteLength,
      ...ledgerColumns(r.ledger),
    };
    at += HASH_BYTES + r.sale.byteLength;
    return column;
  });
  return { document: JSON.stringify(columns), binary };
}

/**
 * Reads what is stored under one tenant's idempotency keys; keys with nothing stored are absent.
 * The tenant is one parameter and the keys an array, so a tenant-distributed database (Citus)
 * plans it on its fast path and sends it to the tenant's one shard.
 */
export async function findSales(
  db: Executor,
  tenantId: string,
  idempotencyKeys: readonly string[],
): Promise<StoredSale[]> {
  if (idempotencyKeys.length === 0) return [];
  const found = await sql<ExistingRow>`
    select idempotency_key, id::text as id,
           (extract(epoch from accepted_at) * 1000000)::int8::text as accepted_us,
           encode(payload_hash, 'hex') as payload_hash
    from sales
    where tenant_id = ${tenantId} and idempotency_key = any(${idempotencyKeys}::text[])`.execute(
    db,
  );
  return found.rows.map((row) => ({
    ...toStored(tenantId, row, row.payload_hash),
    inserted: false,
  }));
}

/**
 * Every statement on tenant data names one tenant, so a distributed database routes it to one
 * shard (README, "Scaling out"); a batch mixing tenants is a caller's bug, never split silently.
 */
export function assertOneTenant(
  tenantId: string,
  rows: readonly { readonly tenantId: string }[],
): void {
  for (const row of rows) {
    if (row.tenantId !== tenantId) {
      throw new Error(`a batch of tenant ${tenantId} holds a row of tenant ${row.tenantId}`);
    }
  }
}

function toStored(
  tenantId: string,
  row: InsertedRow,
  payloadHash: string,
): Omit<StoredSale, "inserted"> {
  return {
    tenantId,
    idempotencyKey: row.idempotency_key,
    id: row.id,
    acceptedAtMicros: BigInt(row.accepted_us),
    payloadHash,
  };
}

function compareKeys(a: SaleRow | undefined, b: SaleRow | undefined): number {
  if (!a || !b) return 0;
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  if (a.idempotencyKey === b.idempotencyKey) return 0;
  return a.idempotencyKey < b.idempotencyKey ? -1 : 1;
}
