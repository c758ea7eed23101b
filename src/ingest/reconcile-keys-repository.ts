import { sql } from "kysely";
import type { KeyDigest, KeyRange } from "../contract/key-digest.js";
import type { LedgerKind } from "../contract/ledger.js";
import type { Executor } from "../storage/database.js";
import type { ReconcileScope } from "./reconcile-model.js";
import { KEY_HASH, microsTimestamp, scopeCondition } from "./reconcile-scope-sql.js";

/**
 * The key side of reconciliation: digests of a scope's keys over key ranges, and pages of them.
 * Keys compare `collate "C"`, byte order, the order the gateway sorts in: the database's own
 * collation must never decide which range a key falls in. Only rows accepted at or before
 * `asOfMicros` (undefined: the statement's own `now()`) count, so every round of one reconciliation sees the same sales however many
 * arrive meanwhile (docs/design/reconciliation.md §4).
 */

/**
 * The digest of the scope's keys in each of `ranges` (sorted by `from`, disjoint, as the request
 * parser guarantees), in ONE statement: each row's range is found by binary search over the
 * ranges' starts (`width_bucket`), so the scope's rows are read once however many ranges there are.
 */
export async function digestKeyRanges(
  db: Executor,
  tenantId: string,
  scope: ReconcileScope,
  asOfMicros: bigint | undefined,
  ranges: readonly KeyRange[],
): Promise<KeyDigest[]> {
  const froms = ranges.map((r) => r.from);
  const tos = ranges.map((r) => r.to);
  // Bounded on both sides, so an index ordering a day's keys reads only the ranges' span.
  const lastTo = tos.at(-1) ?? "";
  const last = lastTo === "" ? sql`` : sql`and idempotency_key collate "C" < ${lastTo} collate "C"`;
  const { rows } = await sql<{ range: number; count: string; hash_sum: string }>`
    select range, count(*)::text as count, sum(hash)::text as hash_sum
    from (
      select width_bucket(idempotency_key collate "C", ${froms}::text[]) as range,
             idempotency_key, ${KEY_HASH} as hash
      from sales
      where ${scopeCondition(tenantId, scope)}
        and accepted_at <= ${asOf(asOfMicros)}
        and idempotency_key collate "C" >= ${froms[0] ?? ""} ${last}
    ) keyed
    where range > 0
      and ((${tos}::text[])[range] = '' or idempotency_key collate "C" < (${tos}::text[])[range] collate "C")
    group by range`.execute(db);
  const digests: KeyDigest[] = ranges.map(() => ({ count: 0n, digest: 0n }));
  for (const row of rows) {
    digests[Number(row.range) - 1] = {
      count: BigInt(row.count),
      digest: BigInt.asUintN(64, BigInt(row.hash_sum)),
    };
  }
  return digests;
}

/** A stored key and the POS identity of its transaction. */
export interface StoredKey {
  readonly key: string;
  readonly source: string;
  readonly saleId: string;
  /** Null on a row stored before the ledger (not backfilled). */
  readonly kind: LedgerKind | null;
  readonly currency: string;
  /** The ledger's total: a post-void's negated. */
  readonly totalMinor: bigint;
}

/**
 * Up to `limit` keys of the scope in `range` after `after` ("" = from the range's start), in
 * byte order, and whether more follow.
 */
export async function listKeyPage(
  db: Executor,
  tenantId: string,
  scope: ReconcileScope,
  asOfMicros: bigint | undefined,
  range: KeyRange,
  after: string,
  limit: number,
): Promise<{ keys: StoredKey[]; more: boolean }> {
  const to =
    range.to === "" ? sql`` : sql`and idempotency_key collate "C" < ${range.to} collate "C"`;
  const { rows } = await sql<{
    idempotency_key: string;
    source: string;
    sale_id: string;
    kind: LedgerKind | null;
    currency: string;
    total_minor: string;
  }>`
    select idempotency_key, source, sale_id, kind, currency, total_minor::text as total_minor
    from sales
    where ${scopeCondition(tenantId, scope)}
      and accepted_at <= ${asOf(asOfMicros)}
      and idempotency_key collate "C" >= ${range.from} collate "C" ${to}
      and idempotency_key collate "C" > ${after} collate "C"
    order by idempotency_key collate "C"
    limit ${limit + 1}`.execute(db);
  const keys = rows.slice(0, limit).map(
    (r): StoredKey => ({
      key: r.idempotency_key,
      source: r.source,
      saleId: r.sale_id,
      kind: r.kind,
      currency: r.currency,
      totalMinor: BigInt(r.total_minor),
    }),
  );
  return { keys, more: rows.length > limit };
}

function asOf(micros: bigint | undefined) {
  return micros === undefined ? sql`now()` : microsTimestamp(micros);
}
