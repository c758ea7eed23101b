/**
 * Service charges (fees that are not goods) and the cash rounding in force: their own fields and
 * which kinds allow them; their sums are compared with the totals.
 */
import {
  LineKind,
  RoundingRule,
  type Sale,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import type { RulesKind } from "./check-lines.js";
import { checkTaxAmounts, checkTaxFields } from "./check-taxes.js";
import {
  MAX_AMOUNT_MINOR,
  MAX_CASH_INCREMENT,
  MAX_SERVICE_CHARGES,
  MIN_CASH_INCREMENT,
} from "./limits.js";
import type { Violations } from "./violations.js";

/** Checks `sale.service_charges` under the rules of `kind`. */
export function checkServiceCharges(v: Violations, sale: Sale, kind: RulesKind): void {
  const charges = sale.serviceCharges;
  if (charges.length > MAX_SERVICE_CHARGES) {
    v.add("sale.service_charges", `must have at most ${MAX_SERVICE_CHARGES} charges`);
    return;
  }
  charges.forEach((c, i) => {
    const at = `sale.service_charges[${i}]`;
    v.textAt(at, ".code", c.code, 1, 64);
    v.freeTextAt(at, ".name", c.name, 0, 128);
    const amountOk = v.rangeAt(at, ".amount_minor", c.amountMinor, 0n, MAX_AMOUNT_MINOR);
    if (!(c.kind in LineKind)) v.add(`${at}.kind`, "must be a known line kind");
    else if (kind === TransactionKind.SALE && c.kind === LineKind.RETURN) {
      v.add(`${at}.kind`, "must not be LINE_KIND_RETURN in a sale");
    } else if (kind === TransactionKind.RETURN && c.kind !== LineKind.RETURN) {
      v.add(`${at}.kind`, "must be LINE_KIND_RETURN in a return");
    }
    if (checkTaxFields(v, `${at}.taxes`, c.taxes) && amountOk) {
      checkTaxAmounts(v, `${at}.taxes`, c.taxes, c.amountMinor);
    }
  });
}

/** The cash rounding's own fields; the adjustment itself (I11) is compared with the totals. */
export function checkCashRounding(v: Violations, sale: Sale): void {
  const cr = sale.cashRounding;
  if (!cr) return;
  v.range(
    "sale.cash_rounding.increment_minor",
    cr.incrementMinor,
    MIN_CASH_INCREMENT,
    MAX_CASH_INCREMENT,
  );
  if (!(cr.rule in RoundingRule)) v.add("sale.cash_rounding.rule", "must be a known rounding rule");
}

/** The line rounding rule must be one the contract defines. */
export function checkLineRounding(v: Violations, sale: Sale): void {
  if (!(sale.lineRounding in RoundingRule)) {
    v.add("sale.line_rounding", "must be a known rounding rule");
  }
}
