import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ledger } from "../../src/contract/ledger.js";
import { lineAmountMinor } from "../../src/contract/sale-rules.js";
import { makeSale } from "./fixtures.js";

/** Three days of sales ending an hour ago, so none is in the future and days differ. */
const DAY_MS = 86_400_000;

/**
 * Random valid v1 sales (totals computed by `makeSale`), spread over `locations` stores, two
 * currencies and three UTC days, each line's discount within its amount, as v1 requires.
 */
export function v1Sales(
  locations: readonly string[],
  options: { minLength?: number; maxLength: number },
): fc.Arbitrary<Sale[]> {
  const line = fc
    .record({
      quantityMilli: fc.bigInt({ min: 1n, max: 5_000n }),
      unitPriceMinor: fc.bigInt({ min: 0n, max: 100_000n }),
      taxMinor: fc.bigInt({ min: 0n, max: 5_000n }),
      discountPercent: fc.bigInt({ min: 0n, max: 100n }),
      sku: fc.constantFrom("SKU-1", "SKU-2", "SKU-3"),
    })
    .map(({ discountPercent, ...l }) => ({
      name: "item",
      ...l,
      discountMinor: (lineAmountMinor(l) * discountPercent) / 100n,
    }));
  const sale = fc
    .record({
      lineItems: fc.array(line, { minLength: 1, maxLength: 4 }),
      locationId: fc.constantFrom(...locations),
      currency: fc.constantFrom("EUR", "CHF"),
      ageMs: fc.integer({ min: 3_600_000, max: 3 * DAY_MS }),
    })
    .map(({ ageMs, ...s }) =>
      makeSale({ ...s, occurredAt: timestampFromDate(new Date(Date.now() - ageMs)) }),
    );
  return fc.array(sale, { minLength: options.minLength ?? 1, maxLength: options.maxLength });
}

/** One row of `net_sales_daily`, its amounts as decimal strings as pg returns bigints. */
export interface DailyRow {
  location_id: string;
  currency: string;
  business_day: string;
  transactions: string;
  returns: string;
  post_voids: string;
  gross_minor: string;
  discount_minor: string;
  tax_minor: string;
  net_minor: string;
  total_minor: string;
  rows_without_ledger: string;
}

/** The columns `dailyRowsSql` selects from the view, day as text. */
export const DAILY_COLUMNS = `location_id, currency, business_day::text as business_day,
  transactions::text, returns::text, post_voids::text, gross_minor::text, discount_minor::text,
  tax_minor::text, net_minor::text, total_minor::text, rows_without_ledger::text`;

/**
 * What `net_sales_daily` must say of `sales`: per location, currency and business day (stated,
 * else the UTC date of occurred_at), the sums of their `ledger()`, sorted as the view is queried
 * (`order by location_id, currency, business_day`).
 */
export function expectedDaily(sales: readonly Sale[]): DailyRow[] {
  const rows = new Map<string, DailyRow>();
  for (const sale of sales) {
    const l = ledger(sale);
    const day =
      l.businessDay ??
      timestampDate(sale.occurredAt ?? timestampFromDate(new Date(0)))
        .toISOString()
        .slice(0, 10);
    const key = [sale.locationId, sale.currency, day].join("\u0000");
    const row = rows.get(key) ?? {
      location_id: sale.locationId,
      currency: sale.currency,
      business_day: day,
      transactions: "0",
      returns: "0",
      post_voids: "0",
      gross_minor: "0",
      discount_minor: "0",
      tax_minor: "0",
      net_minor: "0",
      total_minor: "0",
      rows_without_ledger: "0",
    };
    const add = (a: string, b: bigint | number) => (BigInt(a) + BigInt(b)).toString();
    row.transactions = add(row.transactions, 1);
    row.returns = add(row.returns, l.kind === "return" ? 1 : 0);
    row.post_voids = add(row.post_voids, l.kind === "post_void" ? 1 : 0);
    row.gross_minor = add(row.gross_minor, l.grossMinor);
    row.discount_minor = add(row.discount_minor, l.discountMinor);
    row.tax_minor = add(row.tax_minor, l.taxMinor);
    row.net_minor = add(row.net_minor, l.netMinor);
    row.total_minor = add(row.total_minor, l.totalMinor);
    rows.set(key, row);
  }
  return [...rows.values()].sort(
    (a, b) =>
      cmp(a.location_id, b.location_id) ||
      cmp(a.currency, b.currency) ||
      cmp(a.business_day, b.business_day),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
