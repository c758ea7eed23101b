/**
 * A store's day for reconciliation tests: sales, a return, an exchange, a post-void and a tip
 * (the worked receipts of receipts-v2.ts at one store), and its Z report computed BY HAND from
 * the receipts' printed totals, not by the rules module, so a test of either side checks the
 * rules against arithmetic written down here.
 */
import { type Sale, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ZERO_AMOUNTS } from "../../src/contract/ledger.js";
import type { ZReport } from "../../src/contract/z-report.js";
import {
  berlinBakery,
  berlinExchange,
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  restaurantWithTip,
  zurichKiosk,
} from "./receipts-v2.js";

export const DAY = "2026-11-30";
export const STORE = "recon-store";
export const at = (iso: string) => ({ occurredAt: new Date(iso) });

/** The store's day as the gateway sent it, each receipt at STORE. */
export function theDay() {
  const place = (sale: Sale, register = "till-1") => {
    sale.locationId = STORE;
    sale.registerId = register;
    return sale;
  };
  const s1 = place(chicagoStore({ ...at("2026-11-30T15:00:00Z"), businessDay: DAY }));
  // Rung up after midnight UTC, still the store's 30th (a late closing): in the day, not in the
  // UTC range of the 30th.
  const s2 = place(chicagoStore({ ...at("2026-12-01T02:00:00Z"), businessDay: DAY }));
  const ret = place(
    chicagoReturn({ ...at("2026-11-30T16:00:00Z"), businessDay: DAY, originalSaleId: s1.saleId }),
  );
  const tip = place(restaurantWithTip({ ...at("2026-11-30T20:00:00Z"), businessDay: DAY }));
  // No business day stated: the UTC date of occurred_at, the 30th.
  const kiosk = place(zurichKiosk({ ...at("2026-11-30T23:30:00Z"), businessDay: "" }));
  const voided = postVoidOf(kiosk);
  const bakery = place(berlinBakery({ ...at("2026-11-30T08:00:00Z"), businessDay: DAY }), "till-2");
  const exchange = place(berlinExchange({ ...at("2026-11-30T11:00:00Z"), businessDay: DAY }));
  return { s1, s2, ret, tip, kiosk, voided, bakery, exchange };
}

/** Every amount 0, to spread under the figures a test states. */
export const ZERO = ZERO_AMOUNTS;

/**
 * The day's Z report by hand, from the receipts' totals (docs/design/sale-model-v2.md §2):
 * USD: two Chicago sales (3250 / 350 / 10 / 246 / total 3156, net 2900 each), the mug's return
 * (−850 / −125 / tax −61 / −786, net −725), the diner's check (2200, tax 188, tip 400, 2388);
 * CHF: the kiosk (1396, VAT 55 included, rounding −1, 1395) and its void, negated: all zero;
 * EUR: the bakery (1579 / 38 / VAT 219 / 1541, net 1322) and the exchange (1000, VAT 159, 1000).
 * Tenders, one payment line each receipt: CHF cash 1395 and the void's −1395 (its line counts
 * −1): 0 lines, 0; EUR card 1541 + 1000; USD card 3156 + 3156 − 786 (the refund tender) + 2388
 * with the 400 tip.
 */
export const EXPECTED_DAY: ZReport = {
  counts: { sales: 5n, returns: 1n, exchanges: 1n, postVoids: 1n },
  currencies: [
    { currency: "CHF", ...ZERO, transactions: 2n },
    {
      currency: "EUR",
      ...ZERO,
      grossMinor: 2579n, // 1579 + 1000
      discountMinor: 38n,
      taxMinor: 378n, // 219 + 159, all included
      includedTaxMinor: 378n,
      netMinor: 2163n, // 1322 + 841
      totalMinor: 2541n, // 1541 + 1000
      transactions: 2n,
    },
    {
      currency: "USD",
      ...ZERO,
      grossMinor: 7850n, // 3250 + 3250 − 850 + 2200
      discountMinor: 575n, // 350 + 350 − 125
      serviceChargeMinor: 20n, // two bag fees
      taxMinor: 619n, // 246 + 246 − 61 + 188
      tipMinor: 400n,
      netMinor: 7275n, // 2900 + 2900 − 725 + 2200
      totalMinor: 7914n, // 3156 + 3156 − 786 + 2388
      transactions: 4n,
    },
  ],
  tenders: [
    { currency: "CHF", tenderType: TenderType.CASH, payments: 0n, amountMinor: 0n, tipMinor: 0n },
    {
      currency: "EUR",
      tenderType: TenderType.CARD,
      payments: 2n,
      amountMinor: 2541n, // 1541 + 1000
      tipMinor: 0n,
    },
    {
      currency: "USD",
      tenderType: TenderType.CARD,
      payments: 4n, // two sales, the return's refund, the diner's check
      amountMinor: 7914n, // 3156 + 3156 − 786 + 2388
      tipMinor: 400n,
    },
  ],
};
