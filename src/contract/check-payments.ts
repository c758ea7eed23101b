/**
 * The payments of a transaction: tender, sign of the amount and tip per kind, cash tendered and
 * change (I13), card brand and last four digits. Their sums (I12) are compared with the totals.
 */
import {
  type Payment,
  type Sale,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import type { RulesKind } from "./check-lines.js";
import { MAX_AMOUNT_MINOR, MAX_PAYMENTS } from "./limits.js";
import type { Violations } from "./violations.js";

const CARD_BRAND = /^[a-z][a-z_-]{0,31}$/;
const LAST4 = /^\d{4}$/;

/** Checks every payment of `sale` under the rules of `kind`. */
export function checkPayments(v: Violations, sale: Sale, kind: RulesKind): void {
  if (sale.payments.length > MAX_PAYMENTS) {
    v.add("sale.payments", `must have at most ${MAX_PAYMENTS} payments`);
  }
  sale.payments.slice(0, MAX_PAYMENTS).forEach((p, i) => {
    checkPayment(v, p, `sale.payments[${i}]`, kind);
  });
}

function checkPayment(v: Violations, p: Payment, at: string, kind: RulesKind): void {
  if (p.tenderType === TenderType.UNSPECIFIED || !(p.tenderType in TenderType)) {
    v.add(`${at}.tender_type`, "must be a known tender type");
  }
  // A sale is paid, a return refunded; an exchange's tender goes either way but is never 0.
  let refund = false;
  if (kind === TransactionKind.SALE) {
    v.rangeAt(at, ".amount_minor", p.amountMinor, 1n, MAX_AMOUNT_MINOR);
  } else if (kind === TransactionKind.RETURN) {
    v.rangeAt(
      at,
      ".amount_minor",
      p.amountMinor,
      -MAX_AMOUNT_MINOR,
      -1n,
      "-1 (a refund) in a return",
    );
    refund = true;
  } else if (p.amountMinor === 0n) {
    v.add(`${at}.amount_minor`, "must not be 0");
  } else {
    refund = p.amountMinor < 0n;
    const max = MAX_AMOUNT_MINOR;
    v.rangeAt(at, ".amount_minor", p.amountMinor, -max, max);
  }

  if (refund) {
    v.rangeAt(at, ".tip_minor", p.tipMinor, -MAX_AMOUNT_MINOR, 0n, "0 on a refund");
    if (p.tenderedMinor !== 0n) v.add(`${at}.tendered_minor`, "must be 0 on a refund");
    if (p.changeMinor !== 0n) v.add(`${at}.change_minor`, "must be 0 on a refund");
  } else {
    v.rangeAt(at, ".tip_minor", p.tipMinor, 0n, MAX_AMOUNT_MINOR);
    checkCash(v, p, at);
  }

  const card = p.tenderType === TenderType.CARD || p.tenderType === TenderType.MOBILE_WALLET;
  if (p.cardBrand !== "") {
    if (!card) v.add(`${at}.card_brand`, "is only for card and mobile wallet payments");
    else if (!CARD_BRAND.test(p.cardBrand)) {
      v.add(`${at}.card_brand`, "must be 1-32 of a-z, '_', '-', starting with a letter");
    }
  }
  if (p.cardLast4 !== "") {
    if (!card) v.add(`${at}.card_last4`, "is only for card and mobile wallet payments");
    else if (!LAST4.test(p.cardLast4)) v.add(`${at}.card_last4`, "must be exactly four digits");
  }
}

/** I13: cash handed over less change given is what the tender paid, tip included. */
function checkCash(v: Violations, p: Payment, at: string): void {
  const tenderedOk = v.rangeAt(at, ".tendered_minor", p.tenderedMinor, 0n, MAX_AMOUNT_MINOR);
  const changeOk = v.rangeAt(at, ".change_minor", p.changeMinor, 0n, MAX_AMOUNT_MINOR);
  if (!tenderedOk || !changeOk) return;
  if (p.tenderType !== TenderType.CASH) {
    if (p.tenderedMinor !== 0n) v.add(`${at}.tendered_minor`, "is only for cash payments");
    if (p.changeMinor !== 0n) v.add(`${at}.change_minor`, "is only for cash payments");
  } else if (p.tenderedMinor === 0n) {
    if (p.changeMinor !== 0n) v.add(`${at}.change_minor`, "must be 0 when tendered_minor is 0");
  } else {
    const expected = p.tenderedMinor - p.amountMinor - p.tipMinor;
    v.equalAt(
      at,
      ".change_minor",
      p.changeMinor,
      expected,
      "tendered_minor - amount_minor - tip_minor",
    );
  }
}
