import { sql } from "kysely";
import type { TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  byCode,
  byTender,
  emptyCurrency,
  type ZReportCurrency,
  type ZReportTender,
} from "../contract/z-report.js";
import type { Executor } from "../storage/database.js";
import type { ReconcileScope, StoredFigures } from "./reconcile-model.js";
import { KEY_HASH, scopeCondition } from "./reconcile-scope-sql.js";

/**
 * One row of the statement: a currency's sums, or (all_currencies = 1) the whole scope's, or
 * (tender_type not null) one tender's sums, whose other columns are null.
 */
interface FiguresRow {
  currency: string | null;
  all_currencies: number;
  tender_type: number | null;
  payments: string | null;
  amount_minor: string | null;
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
 * The tenders are summed in the same statement and the same scan, one line per payment, each
 * counting σ (a post-void's −1, `ledgerSign`). Rows are grouped by (currency, tender type), and
 * each row's own figures are counted on its first line only; the currency figures are then
 * rolled up from those groups. `unnest` of every row cost a function call per row, which
 * tripled the statement's time on a day of 100,000 sales: a one-payment sale (nearly every
 * sale) is read by subscript instead, and only a sale of several payments is unnested. A row
 * whose tender columns are null (stored before migration 000500, not backfilled) has no tender
 * line and is counted in `rows_without_ledger`, so the answer cannot match while tenders are
 * missing from the sums. Measured in docs/design/reconciliation.md.
 *
 * The digest of the scope's keys comes from the same statement, so it is of the same rows: each
 * row's key hashed once, on its first line.
 */
export async function reconcileFigures(
  db: Executor,
  tenantId: string,
  scope: ReconcileScope,
): Promise<StoredFigures> {
  // Sums are numeric in PostgreSQL; as text they reach BigInt exactly.
  const { rows } = await sql<FiguresRow>`
    with g as (
      select currency, tender_type,
             count(*) filter (where first and kind = 'sale') as sales,
             count(*) filter (where first and kind = 'return') as returns,
             count(*) filter (where first and kind = 'exchange') as exchanges,
             count(*) filter (where first and kind = 'post_void') as post_voids,
             count(*) filter (where first) as transactions,
             sum(gross_minor) filter (where first) as gross_minor,
             sum(discount_minor) filter (where first) as discount_minor,
             sum(service_charge_minor) filter (where first) as service_charge_minor,
             sum(tax_minor) filter (where first) as tax_minor,
             sum(included_tax_minor) filter (where first) as included_tax_minor,
             sum(rounding_minor) filter (where first) as rounding_minor,
             sum(tip_minor) filter (where first) as tip_minor,
             sum(net_minor) filter (where first) as net_minor,
             sum(total_minor) filter (where first) as total_minor,
             count(*) filter (where first and (net_minor is null or tender_types is null))
               as rows_without_ledger,
             sum(case when kind = 'post_void' then -1 else 1 end) as payments,
             sum(amount) as amount, sum(tip) as tip, sum(key_hash) as key_hash_sum
      from (
        select s.currency, s.kind, s.gross_minor, s.discount_minor, s.service_charge_minor,
               s.tax_minor, s.included_tax_minor, s.rounding_minor, s.tip_minor, s.net_minor,
               s.total_minor, s.tender_types,
               -- The row's first (or only) line carries the row's own figures.
               t.n is null or t.n = 1 as first,
               coalesce(t.tender_type,
                        case when cardinality(s.tender_types) = 1 then s.tender_types[1] end)
                 as tender_type,
               coalesce(t.amount, s.tender_amounts_minor[1]) as amount,
               coalesce(t.tip, s.tender_tips_minor[1]) as tip,
               case when t.n is null or t.n = 1 then ${KEY_HASH} end as key_hash
        from sales s
        -- Several payments: one line each. One payment (nearly every sale) is read by
        -- subscript: unnest is strict, so its null argument costs no call.
        left join lateral unnest(
            case when cardinality(s.tender_types) > 1 then s.tender_types end,
            case when cardinality(s.tender_types) > 1 then s.tender_amounts_minor end,
            case when cardinality(s.tender_types) > 1 then s.tender_tips_minor end)
          with ordinality as t(tender_type, amount, tip, n) on true
        where ${scopeCondition(tenantId, scope)}) as line
      group by currency, tender_type)
    select currency, grouping(currency) as all_currencies, null::int2 as tender_type,
           null::text as payments, null::text as amount_minor,
           coalesce(sum(sales), 0)::text as sales,
           coalesce(sum(returns), 0)::text as returns,
           coalesce(sum(exchanges), 0)::text as exchanges,
           coalesce(sum(post_voids), 0)::text as post_voids,
           coalesce(sum(transactions), 0)::text as transactions,
           coalesce(sum(gross_minor), 0)::text as gross_minor,
           coalesce(sum(discount_minor), 0)::text as discount_minor,
           coalesce(sum(service_charge_minor), 0)::text as service_charge_minor,
           coalesce(sum(tax_minor), 0)::text as tax_minor,
           coalesce(sum(included_tax_minor), 0)::text as included_tax_minor,
           coalesce(sum(rounding_minor), 0)::text as rounding_minor,
           coalesce(sum(tip_minor), 0)::text as tip_minor,
           coalesce(sum(net_minor), 0)::text as net_minor,
           coalesce(sum(total_minor), 0)::text as total_minor,
           coalesce(sum(rows_without_ledger), 0)::text as rows_without_ledger,
           coalesce(sum(key_hash_sum), 0)::text as key_hash_sum,
           (extract(epoch from now()) * 1000000)::int8::text as snapshot_us
    from g
    group by rollup (currency)
    union all
    -- A row without payments, or without its tenders yet, has no tender type: no tender row.
    select currency, 0, tender_type, payments::text, amount::text,
           -- sales … rounding_minor (11), tip_minor, net_minor … snapshot_us (5)
           null, null, null, null, null, null, null, null, null, null, null,
           tip::text, null, null, null, null, null
    from g
    where tender_type is not null`.execute(db);
  const all = rows.find((r) => Number(r.all_currencies) === 1);
  if (!all) throw new Error("reconcile: the aggregate returned no scope row");
  const currencies: ZReportCurrency[] = rows
    .filter((r) => Number(r.all_currencies) === 0 && r.tender_type === null)
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
  const tenders: ZReportTender[] = rows
    .filter((r) => r.tender_type !== null)
    .map((r) => ({
      currency: r.currency ?? "",
      tenderType: Number(r.tender_type) as TenderType,
      payments: BigInt(r.payments ?? "0"),
      amountMinor: BigInt(r.amount_minor ?? "0"),
      tipMinor: BigInt(r.tip_minor),
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
      tenders: tenders.sort(byTender),
    },
    snapshotAtMicros: BigInt(all.snapshot_us),
    rowsWithoutLedger: BigInt(all.rows_without_ledger),
    keys: { count: BigInt(all.transactions), digest: BigInt.asUintN(64, BigInt(all.key_hash_sum)) },
  };
}
