import { sql } from "kysely";
import type { Executor } from "../storage/database.js";

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
  /** RFC 3339 with microseconds. */
  readonly occurredAt: string;
  readonly currency: string;
  /** Decimal string: int64 does not fit a JS number. */
  readonly totalMinor: string;
  /** The sale's protobuf encoding. */
  readonly sale: Uint8Array;
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

interface InsertedRow {
  tenant_id: string;
  idempotency_key: string;
  id: string;
  accepted_us: string;
}
interface ExistingRow extends InsertedRow {
  payload_hash: string;
}

/**
 * Writes a batch of sales in one INSERT statement and reports, for every row, what the database
 * now holds under its key. Rows whose key already exists are left untouched (ON CONFLICT DO
 * NOTHING) and are read back in a second statement: it runs after the first has waited for any
 * concurrent writer of the same key to commit, so it sees that writer's row.
 *
 * `rows` must not repeat a (tenantId, idempotencyKey) pair. They are written in key order so two
 * batches that share keys lock them in the same order and cannot deadlock.
 */
export async function insertSales(db: Executor, rows: readonly SaleRow[]): Promise<StoredSale[]> {
  if (rows.length === 0) return [];
  const sorted = [...rows].sort(compareKeys);
  const payload = JSON.stringify(
    sorted.map((r) => ({
      tenant_id: r.tenantId,
      idempotency_key: r.idempotencyKey,
      id: r.id,
      payload_hash: r.payloadHash,
      source: r.source,
      location_id: r.locationId,
      register_id: r.registerId,
      sale_id: r.saleId,
      occurred_at: r.occurredAt,
      currency: r.currency,
      total_minor: r.totalMinor,
      sale: Buffer.from(r.sale.buffer, r.sale.byteOffset, r.sale.byteLength).toString("hex"),
    })),
  );
  // One statement, one parameter: jsonb_to_recordset keeps far below the 65,535-parameter cap
  // at any batch size and reads the same on pg and PGlite.
  const inserted = await sql<InsertedRow>`
    insert into sales (tenant_id, idempotency_key, id, payload_hash, source, location_id,
                       register_id, sale_id, occurred_at, currency, total_minor, sale)
    select r.tenant_id, r.idempotency_key, r.id, decode(r.payload_hash, 'hex'), r.source,
           r.location_id, r.register_id, r.sale_id, r.occurred_at, r.currency, r.total_minor,
           decode(r.sale, 'hex')
    from jsonb_to_recordset(${payload}::jsonb) as r(
      tenant_id text, idempotency_key text, id uuid, payload_hash text, source text,
      location_id text, register_id text, sale_id text, occurred_at timestamptz, currency text,
      total_minor bigint, sale text)
    on conflict (tenant_id, idempotency_key) do nothing
    returning tenant_id, idempotency_key, id::text as id,
              (extract(epoch from accepted_at) * 1000000)::int8::text as accepted_us`.execute(db);

  const hashes = new Map(sorted.map((r) => [keyOf(r.tenantId, r.idempotencyKey), r.payloadHash]));
  const byKey = new Map<string, StoredSale>();
  for (const row of inserted.rows) {
    const key = keyOf(row.tenant_id, row.idempotency_key);
    byKey.set(key, { ...toStored(row, hashes.get(key) ?? ""), inserted: true });
  }
  if (byKey.size < sorted.length) {
    const missing = sorted.filter((r) => !byKey.has(keyOf(r.tenantId, r.idempotencyKey)));
    for (const row of await findSales(db, missing)) {
      byKey.set(keyOf(row.tenantId, row.idempotencyKey), row);
    }
  }
  return rows.map((r) => {
    const stored = byKey.get(keyOf(r.tenantId, r.idempotencyKey));
    // Unreachable unless a row vanished between the two statements; sales are never deleted.
    if (!stored) throw new Error("sale neither inserted nor found");
    return stored;
  });
}

/** Reads what is stored under the given keys; keys with nothing stored are absent. */
export async function findSales(
  db: Executor,
  keys: readonly { tenantId: string; idempotencyKey: string }[],
): Promise<StoredSale[]> {
  if (keys.length === 0) return [];
  const payload = JSON.stringify(
    keys.map((k) => ({ tenant_id: k.tenantId, idempotency_key: k.idempotencyKey })),
  );
  const found = await sql<ExistingRow>`
    select s.tenant_id, s.idempotency_key, s.id::text as id,
           (extract(epoch from s.accepted_at) * 1000000)::int8::text as accepted_us,
           encode(s.payload_hash, 'hex') as payload_hash
    from jsonb_to_recordset(${payload}::jsonb) as k(tenant_id text, idempotency_key text)
    join sales s on s.tenant_id = k.tenant_id and s.idempotency_key = k.idempotency_key`.execute(
    db,
  );
  return found.rows.map((row) => ({ ...toStored(row, row.payload_hash), inserted: false }));
}

function toStored(row: InsertedRow, payloadHash: string): Omit<StoredSale, "inserted"> {
  return {
    tenantId: row.tenant_id,
    idempotencyKey: row.idempotency_key,
    id: row.id,
    acceptedAtMicros: BigInt(row.accepted_us),
    payloadHash,
  };
}

/** One string naming a (tenant, idempotency key) pair, for maps and sets. */
export function keyOf(tenantId: string, idempotencyKey: string): string {
  // NUL cannot occur in a tenant id or a (printable ASCII) idempotency key.
  return `${tenantId}\u0000${idempotencyKey}`;
}

function compareKeys(a: SaleRow, b: SaleRow): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  if (a.idempotencyKey === b.idempotencyKey) return 0;
  return a.idempotencyKey < b.idempotencyKey ? -1 : 1;
}
