import { type RawBuilder, sql } from "kysely";
import type { SaleLedger } from "../contract/ledger.js";
import type { Executor } from "../storage/database.js";
import { LEDGER_RECORD_COLUMNS, ledgerColumns } from "./ledger-repository.js";

/** What the explanation needs of a refused void (a SaleRow has it). */
export interface VoidRow {
  readonly tenantId: string;
  readonly idempotencyKey: string;
  readonly currency: string;
  readonly totalMinor: string;
  readonly ledger: SaleLedger;
}

// What a post-void must agree with (docs/design/sale-model-v2.md, section 5): the transactions it
// may be voiding, stored or written in the same batch, and the one rule that says whether it
// cancels one of them exactly. Written once, in SQL, so the INSERT that refuses a void and the
// query that tells the client why apply the same rule. In both, `r` is a row of the batch's JSON
// document (see ledgerColumns): the void, its amounts already negated.

/**
 * The transactions a void's original may be, one shape whatever their source: the stored rows
 * with the original's POS identity, the stored row under its stated key, and (in the INSERT,
 * `batch`) the other rows of the batch that are either, since the statement's snapshot does not
 * see what it writes itself and a sale and its void often travel in one batch.
 */
function candidates(tenantId: string, batch: boolean): RawBuilder<unknown> {
  const stored = (match: RawBuilder<unknown>) => sql`
    select s.kind, s.source, s.location_id, s.sale_id, s.currency, s.total_minor,
           s.gross_minor as gross, s.discount_minor as discount,
           s.service_charge_minor as service_charge, s.tax_minor as tax,
           s.included_tax_minor as included_tax, s.rounding_minor as rounding,
           s.tip_minor as tip, s.net_minor as net
    from sales s where s.tenant_id = ${tenantId} and ${match}`;
  const byIdentity = stored(
    sql`s.source = r.o_source and s.location_id = r.o_location_id and s.sale_id = r.o_sale_id`,
  );
  const byKey = stored(sql`s.idempotency_key = r.o_key`);
  if (!batch) return sql`${byIdentity} union all ${byKey}`;
  return sql`${byIdentity} union all ${byKey} union all
    select coalesce(q.kind, 'sale'), q.source, q.location_id, q.sale_id, q.currency,
           q.total_minor, coalesce(q.gross, 0), coalesce(q.discount, 0),
           coalesce(q.service_charge, 0), coalesce(q.tax, 0), coalesce(q.included_tax, 0),
           coalesce(q.rounding, 0), coalesce(q.tip, 0), coalesce(q.net, 0)
    from r q
    where q.idempotency_key <> r.idempotency_key
      and ((q.source = r.o_source and q.location_id = r.o_location_id
            and q.sale_id = r.o_sale_id) or q.idempotency_key = r.o_key)`;
}

/**
 * Why candidate `o` makes void `r` a conflict, completing "the stored original …"; null when it
 * does not. Amounts of a row stored before the ledger columns (null until backfilled) decide
 * nothing; its total, kind and currency still do.
 */
const MISMATCH = sql`
  case
    when o.kind = 'post_void' then 'is itself a post-void, and a void cannot be voided'
    when o.source <> r.o_source or o.location_id <> r.o_location_id or o.sale_id <> r.o_sale_id
      then 'stored under original.idempotency_key is another transaction'
    when o.kind is distinct from r.o_kind
      then 'is a ' || o.kind || ', not the ' || coalesce(r.o_kind, 'unstated kind') ||
           ' that original.kind says'
    when o.currency <> r.currency then 'is in ' || o.currency || ', not ' || r.currency
    when o.total_minor <> -r.total_minor
      or (o.gross, o.discount, o.service_charge, o.tax, o.included_tax, o.rounding, o.tip,
          o.net)
         <> (-coalesce(r.gross, 0), -coalesce(r.discount, 0), -coalesce(r.service_charge, 0),
             -coalesce(r.tax, 0), -coalesce(r.included_tax, 0), -coalesce(r.rounding, 0),
             -coalesce(r.tip, 0), -coalesce(r.net, 0))
      then 'has other totals than this void: a post-void repeats its original''s totals exactly'
  end`;

/**
 * The INSERT's condition on each row of a batch of `tenantId`'s that holds post-voids: any other
 * kind passes; a void passes unless a transaction it may be voiding is a void, of another kind
 * than it says, or not cancelled by it exactly. (A second void of one original is refused by the
 * unique index `sales_one_void_per_original`, which the INSERT's ON CONFLICT DO NOTHING covers.)
 */
export function voidGuard(tenantId: string): RawBuilder<unknown> {
  return sql`
    r.kind is distinct from 'post_void'
    or not exists (select 1 from (${candidates(tenantId, true)}) o where (${MISMATCH}) is not null)`;
}

/**
 * Why each of these post-voids of one tenant's, neither stored nor found under its key, was refused: its
 * original already has a void (naming that void's key), or the reason the guard refused it;
 * undefined when neither holds any more (a concurrent writer changed what is stored). One query
 * for all of them; the reasons come in the order of `rows`.
 */
export async function explainRefusedVoids(
  db: Executor,
  tenantId: string,
  rows: readonly VoidRow[],
): Promise<(string | undefined)[]> {
  const document = rows.map((r, i) => ({
    i,
    idempotency_key: r.idempotencyKey,
    currency: r.currency,
    total_minor: r.totalMinor,
    ...ledgerColumns(r.ledger),
  }));
  const found = await sql<{ i: number; voided_by: string | null; mismatch: string | null }>`
    with r as (
      select * from json_to_recordset(${JSON.stringify(document)}::json) as r(
        i int4, idempotency_key text, currency text, total_minor int8,
        ${LEDGER_RECORD_COLUMNS}))
    select r.i,
           (select v.idempotency_key from sales v
            where v.tenant_id = ${tenantId} and v.kind = 'post_void'
              and v.original_source = r.o_source and v.original_location_id = r.o_location_id
              and v.original_sale_id = r.o_sale_id and v.idempotency_key <> r.idempotency_key
            limit 1) as voided_by,
           (select min(${MISMATCH}) from (${candidates(tenantId, false)}) o) as mismatch
    from r`.execute(db);
  const reasons: (string | undefined)[] = rows.map(() => undefined);
  for (const f of found.rows) {
    if (f.voided_by !== null) {
      reasons[f.i] =
        `the original is already voided (by the post-void stored under key ${f.voided_by}); a transaction is voided once`;
    } else if (f.mismatch !== null) reasons[f.i] = `the stored original ${f.mismatch}`;
  }
  return reasons;
}
