/**
 * The totals of a transaction against its items and payments (I4, I8-I12), and the sign each
 * kind gives them. Called only once every item and payment is valid, so one bad line yields one
 * violation rather than a cascade of sums that disagree because of it.
 */
import {
  RoundingRule,
  type Sale,
  TenderType,
  type Totals,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkAllocation, type RulesKind } from "./check-lines.js";
import { cashRound } from "./money.js";
import { itemSums, nonCashPaid, totalMinorOf } from "./sale-rules.js";
import type { Violations } from "./violations.js";

/** Compares `t` with what the items and payments of `sale` make it, under `kind`'s rules. */
export function checkTotals(v: Violations, sale: Sale, t: Totals, kind: RulesKind): void {
  const before = v.count;
  const s = itemSums(sale);
  const v2 = sale.serviceCharges.length > 0 || sale.cashRounding !== undefined;
  v.equal("sale.totals.subtotal_minor", t.subtotalMinor, s.subtotalMinor, "the sum of the lines");
  v.equal(
    "sale.totals.discount_minor",
    t.discountMinor,
    s.discountMinor,
    "the sum of line discounts",
  );
  v.equal(
    "sale.totals.service_charge_minor",
    t.serviceChargeMinor,
    s.serviceChargeMinor,
    "the sum of service charges",
  );
  const taxWhat =
    sale.serviceCharges.length > 0 ? "the sum of added taxes" : "the sum of line taxes";
  v.equal("sale.totals.tax_minor", t.taxMinor, s.taxMinor, taxWhat);
  v.equal(
    "sale.totals.included_tax_minor",
    t.includedTaxMinor,
    s.includedTaxMinor,
    "the sum of included taxes",
  );
  checkAllocation(v, sale);
  checkRounding(v, sale, t);
  let totalOk: boolean;
  if (v2 || t.serviceChargeMinor !== 0n || t.roundingMinor !== 0n) {
    const expected = totalMinorOf(t) + t.serviceChargeMinor + t.roundingMinor;
    totalOk = v.equal(
      "sale.totals.total_minor",
      t.totalMinor,
      expected,
      "subtotal - discount + service_charge + tax + rounding",
    );
  } else {
    const expected = totalMinorOf(t);
    totalOk = v.equal(
      "sale.totals.total_minor",
      t.totalMinor,
      expected,
      "subtotal - discount + tax",
    );
  }
  // Only a consistent total can have the wrong sign (through cash rounding): one violation each.
  if (totalOk && kind === TransactionKind.SALE && t.totalMinor < 0n) {
    v.add("sale.totals.total_minor", "must not be negative in a sale");
  } else if (totalOk && kind === TransactionKind.RETURN && t.totalMinor > 0n) {
    v.add("sale.totals.total_minor", "must not be positive in a return");
  }
  if (v.count !== before) return;

  let paid = 0n;
  let tips = 0n;
  for (const p of sale.payments) {
    paid += p.amountMinor;
    tips += p.tipMinor;
  }
  v.equal("sale.payments", paid, t.totalMinor, "totals.total_minor");
  v.equal("sale.totals.tip_minor", t.tipMinor, tips, "the sum of payment tips");
}

/**
 * I11. Without cash rounding there is none. With it, the cash part is rounded: the cash paid is a
 * multiple of the increment, and the adjustment is what the stated rule makes of the cash due
 * before rounding (subtotal - discount + service charge + tax, less the non-cash payments), or smaller than the increment when the rule is the POS's own. A transaction
 * paid without cash has nothing to round.
 */
function checkRounding(v: Violations, sale: Sale, t: Totals): void {
  const cr = sale.cashRounding;
  const field = "sale.totals.rounding_minor";
  if (!cr) {
    if (t.roundingMinor !== 0n) v.add(field, "must be 0 without cash_rounding");
    return;
  }
  const n = cr.incrementMinor;
  const cash = sale.payments.filter((p) => p.tenderType === TenderType.CASH);
  if (cash.length === 0) {
    if (t.roundingMinor !== 0n) v.add(field, "must be 0 when nothing is paid in cash");
    return;
  }
  const cashPaid = cash.reduce((sum, p) => sum + p.amountMinor, 0n);
  if (cashPaid % n !== 0n) {
    v.add("sale.payments", `cash amounts add up to ${cashPaid}, not a multiple of ${n}`);
  }
  // From the stated parts of the total, so a wrong subtotal or total is named once, as itself.
  const stated = t.subtotalMinor - t.discountMinor + t.serviceChargeMinor + t.taxMinor;
  const due = stated - nonCashPaid(sale.payments);
  if (cr.rule === RoundingRule.UNSPECIFIED) {
    if (t.roundingMinor >= n || -t.roundingMinor >= n) {
      v.add(field, `must be smaller than the cash rounding increment ${n}`);
    }
    return;
  }
  const expected = cashRound(due, n, cr.rule);
  v.equal(field, t.roundingMinor, expected, `rounding the cash due ${due} to ${n}`);
}
