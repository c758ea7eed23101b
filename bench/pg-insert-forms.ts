import { createHash, randomUUID } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Sale, SaleSchema } from "../gen/pos/ingest/v1/sale_pb.js";

/** One `sales` row, as the service would write it for a sale. */
export interface SalesRow {
  readonly tenantId: string;
  readonly idempotencyKey: string;
  readonly id: string;
  readonly payloadHash: Buffer;
  readonly source: string;
  readonly locationId: string;
  readonly registerId: string;
  readonly saleId: string;
  readonly occurredAt: string;
  readonly currency: string;
  readonly totalMinor: string;
  readonly sale: Buffer;
}

/** A SQL statement and its parameters. */
export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

const COLUMNS =
  "tenant_id, idempotency_key, id, payload_hash, source, location_id, register_id, sale_id, " +
  "occurred_at, currency, total_minor, sale";
const CONFLICT = "on conflict (tenant_id, idempotency_key) do nothing";
// What the service reads back from its insert (src/ingest/repository.ts).
const RETURNING =
  "returning tenant_id, idempotency_key, id::text as id, " +
  "(extract(epoch from accepted_at) * 1000000)::int8::text as accepted_us";

/** `count` rows of the same sale under keys `<prefix>/<i>`, like a stream's records. */
export function salesRows(sale: Sale, prefix: string, count: number): SalesRow[] {
  const bytes = Buffer.from(toBinary(SaleSchema, sale));
  const payloadHash = createHash("sha256").update(bytes).digest();
  const occurredAt = sale.occurredAt ? timestampDate(sale.occurredAt).toISOString() : "";
  return Array.from({ length: count }, (_, i) => ({
    tenantId: "bench",
    idempotencyKey: `${prefix}/${i}`,
    id: randomUUID(),
    payloadHash,
    source: sale.source,
    locationId: sale.locationId,
    registerId: sale.registerId,
    saleId: sale.saleId,
    occurredAt,
    currency: sale.currency,
    totalMinor: String(sale.totals?.totalMinor ?? 0n),
    sale: bytes,
  }));
}

function values(r: SalesRow): unknown[] {
  return [
    r.tenantId,
    r.idempotencyKey,
    r.id,
    r.payloadHash,
    r.source,
    r.locationId,
    r.registerId,
    r.saleId,
    r.occurredAt,
    r.currency,
    r.totalMinor,
    r.sale,
  ];
}

/** Single-row autocommit insert with the service's conflict rule. */
export function singleRowInsert(row: SalesRow): Statement {
  const params = Array.from({ length: 12 }, (_, i) => `$${i + 1}`).join(", ");
  return {
    text: `insert into sales (${COLUMNS}) values (${params}) ${CONFLICT} ${RETURNING}`,
    values: values(row),
  };
}

/** The batch forms compared for the storage ceiling. */
export type BatchForm =
  | "jsonb_to_recordset"
  | "json + binary bytea"
  | "multi-row VALUES"
  | "unnest";

/** One statement for a batch of rows, in the given form. */
export function batchInsert(form: BatchForm, rows: readonly SalesRow[]): Statement {
  if (form === "jsonb_to_recordset") return jsonbInsert(rows);
  if (form === "json + binary bytea") return jsonBinaryInsert(rows);
  if (form === "multi-row VALUES") {
    const tuples = rows.map((_, r) => {
      const base = r * 12;
      return `(${Array.from({ length: 12 }, (_, c) => `$${base + c + 1}`).join(", ")})`;
    });
    return {
      text: `insert into sales (${COLUMNS}) values ${tuples.join(", ")} ${CONFLICT} ${RETURNING}`,
      values: rows.flatMap(values),
    };
  }
  const types = [
    "text",
    "text",
    "uuid",
    "bytea",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "text",
    "int8",
    "bytea",
  ];
  const columns = types.map((_, c) => rows.map((r) => values(r)[c]));
  const args = types.map((t, c) => `$${c + 1}::${t}[]`).join(", ");
  return {
    text: `insert into sales (${COLUMNS}) select * from unnest(${args}) ${CONFLICT} ${RETURNING}`,
    values: columns,
  };
}

/**
 * The service's own statement (src/ingest/repository.ts): the text columns as one json document,
 * every row's payload hash and sale bytes back to back in one bytea parameter sent as binary.
 */
function jsonBinaryInsert(rows: readonly SalesRow[]): Statement {
  const binary = Buffer.concat(rows.flatMap((r) => [r.payloadHash, r.sale]));
  let at = 1;
  const columns = rows.map((r) => {
    const column = {
      tenant_id: r.tenantId,
      idempotency_key: r.idempotencyKey,
      id: r.id,
      source: r.source,
      location_id: r.locationId,
      register_id: r.registerId,
      sale_id: r.saleId,
      occurred_us: Date.parse(r.occurredAt) * 1000,
      currency: r.currency,
      total_minor: r.totalMinor,
      at,
      len: r.sale.byteLength,
    };
    at += r.payloadHash.byteLength + r.sale.byteLength;
    return column;
  });
  return {
    text: `insert into sales (${COLUMNS})
      select r.tenant_id, r.idempotency_key, r.id, substring(b.bytes from r.at for 32), r.source,
             r.location_id, r.register_id, r.sale_id,
             timestamptz 'epoch' + r.occurred_us * interval '1 microsecond', r.currency,
             r.total_minor, substring(b.bytes from r.at + 32 for r.len)
      from json_to_recordset($1::json) as r(
        tenant_id text, idempotency_key text, id uuid, source text, location_id text,
        register_id text, sale_id text, occurred_us int8, currency text, total_minor bigint,
        at int4, len int4),
        (select $2::bytea as bytes) as b
      ${CONFLICT} ${RETURNING}`,
    values: [JSON.stringify(columns), binary],
  };
}

/** The service's earlier statement: one jsonb parameter expanded by jsonb_to_recordset. */
function jsonbInsert(rows: readonly SalesRow[]): Statement {
  const payload = JSON.stringify(
    rows.map((r) => ({
      tenant_id: r.tenantId,
      idempotency_key: r.idempotencyKey,
      id: r.id,
      payload_hash: r.payloadHash.toString("hex"),
      source: r.source,
      location_id: r.locationId,
      register_id: r.registerId,
      sale_id: r.saleId,
      occurred_at: r.occurredAt,
      currency: r.currency,
      total_minor: r.totalMinor,
      sale: r.sale.toString("hex"),
    })),
  );
  return {
    text: `insert into sales (${COLUMNS})
      select r.tenant_id, r.idempotency_key, r.id, decode(r.payload_hash, 'hex'), r.source,
             r.location_id, r.register_id, r.sale_id, r.occurred_at, r.currency, r.total_minor,
             decode(r.sale, 'hex')
      from jsonb_to_recordset($1::jsonb) as r(
        tenant_id text, idempotency_key text, id uuid, payload_hash text, source text,
        location_id text, register_id text, sale_id text, occurred_at timestamptz, currency text,
        total_minor bigint, sale text)
      ${CONFLICT} ${RETURNING}`,
    values: [payload],
  };
}
