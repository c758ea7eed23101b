import { sql } from "kysely";
import { byCode, emptyCurrency, type ZReportCurrency } from "../contract/z-report.js";
import type { Executor } from "../storage/database.js";
import type { ReconcileScope, StoredFigures } from "./reconcile-model.js";
import { KEY_HASH, scopeCondition } from "./reconcile-scope-sql.js";

/** One row of the aggregate: a currency's sums, or (all_currencies = 1) the whole scope's. */
interface FiguresRow {
  currency: string | null;
  all_currencies: number;
  sales: string;
  returns: string;
  exchanges: string;
  post_voids: string;
  transactions: string;
  gross_minor: string;
  discount_minor: string;
  service_charge_minor: string;
  tax_minor: string;
  included_tax_minor: string;
  rounding_minor: string;
  tip_minor: string;
  net_minor: string;
  total_minor: string;
  rows_without_ledger: string;
  key_hash_sum: string;
  snapshot_us: string;
}

/**
 * The server's Z-report figures for one tenant's scope (src/contract/z-report.ts for the rules),
 * in ONE statement: one snapshot, so the answer is consistent while sales keep arriving, and it
 * names one tenant (`tenant_id = $1`), so a tenant-distributed database runs it on one shard.
 * `rollup` adds the scope's own row (counts across currencies) to the per-currency rows and
 * yields it even when the scope is empty, so `now()` of the snapshot always comes back.
 *
 * The digest of the scope's keys comes from the same statement, so it is of the same rows.
 */
export async function reconcileFigures(
  db: Executor,
  tenantId: string,
  scope: ReconcileScope,
): Promise<StoredFigures> {
  // Sums are numeric in PostgreSQL; as text they reach BigInt exactly.
  const { rows } = await sql<FiguresRow>`
    select currency, grouping(currency) as all_currencies,
           count(*) filter (where kind = 'sale')::text as sales,
           count(*) filter (where kind = 'return')::text as returns,
           count(*) filter (where kind = 'exchange')::text as exchanges,
           count(*) filter (where kind = 'post_void')::text as post_voids,
           count(*)::text as transactions,
           coalesce(sum(gross_minor), 0)::text as gross_minor,
           coalesce(sum(discount_minor), 0)::text as discount_minor,
           coalesce(sum(service_charge_minor), 0)::text as service_charge_minor,
           coalesce(sum(tax_minor), 0)::text as tax_minor,
           coalesce(sum(included_tax_minor), 0)::text as included_tax_minor,
           coalesce(sum(rounding_minor), 0)::text as rounding_minor,
           coalesce(sum(tip_minor), 0)::text as tip_minor,
           coalesce(sum(net_minor), 0)::text as net_minor,
           coalesce(sum(total_minor), 0)::text as total_minor,
           count(*) filter (where net_minor is null)::text as rows_without_ledger,
           coalesce(sum(${KEY_HASH}), 0)::text as key_hash_sum,
           (extract(epoch from now()) * 1000000)::int8::text as snapshot_us
    from sales
    where ${scopeCondition(tenantId, scope)}
    group by rollup (currency)
    order by currency`.execute(db);
  const all = rows.find((r) => Number(r.all_currencies) === 1);
  if (!all) throw new Error("reconcile: the aggregate returned no scope row");
  const currencies: ZReportCurrency[] = rows
    .filter((r) => Number(r.all_currencies) === 0)
    .map((r) => ({
      ...emptyCurrency(r.currency ?? ""),
      grossMinor: BigInt(r.gross_minor),
      discountMinor: BigInt(r.discount_minor),
      serviceChargeMinor: BigInt(r.service_charge_minor),
      taxMinor: BigInt(r.tax_minor),
      includedTaxMinor: BigInt(r.included_tax_minor),
      roundingMinor: BigInt(r.rounding_minor),
      tipMinor: BigInt(r.tip_minor),
      netMinor: BigInt(r.net_minor),
      totalMinor: BigInt(r.total_minor),
      transactions: BigInt(r.transactions),
    }));
  return {
    report: {
      counts: {
        sales: BigInt(all.sales),
        returns: BigInt(all.returns),
        exchanges: BigInt(all.exchanges),
        postVoids: BigInt(all.post_voids),
      },
      // Code order, as the rules compare them (SQL's collation may order otherwise).
      currencies: currencies.sort(byCode),
    },
    snapshotAtMicros: BigInt(all.snapshot_us),
    rowsWithoutLedger: BigInt(all.rows_without_ledger),
    keys: { count: BigInt(all.transactions), digest: BigInt.asUintN(64, BigInt(all.key_hash_sum)) },
  };
}
