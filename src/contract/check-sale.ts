/**
 * `checkSale`: a transaction against the contract in proto/pos/ingest/v1/sale.proto. Shared by
 * the server (which refuses what it finds), the client library and the CLI (which check before
 * sending), so every side names the same fields with the same words.
 */

import { type Sale, TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { calendarDayMs } from "./calendar-day.js";
import { checkCashRounding, checkLineRounding, checkServiceCharges } from "./check-charges.js";
import { checkBasketDiscounts, checkLines, type RulesKind } from "./check-lines.js";
import { checkPayments } from "./check-payments.js";
import { checkTotals } from "./check-totals.js";
import { currencyExponent } from "./iso4217.js";
import { MAX_ATTRIBUTES, MIN_OCCURRED_AT_SECONDS, type SaleLimits } from "./limits.js";
import { looksLikePan } from "./pan.js";
import { PAN_TEXT, type RuleViolation, Violations } from "./violations.js";

const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
// Deliberately loose: the POS owns contact data; we only refuse what is clearly not an address.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
const DAY_MS = 86_400_000;
/** The rules kind when the kind cannot be told (see RulesKind): no sign rules. */
const UNKNOWN = TransactionKind.POST_VOID;

/**
 * Checks a transaction: required fields, ranges, sizes, and totals that add up (I1-I13 of
 * docs/design/sale-model-v2.md), with the signs its kind allows; a post-void is checked by the
 * rules of the kind it voids. Returns every violation found (up to a cap), each naming its field
 * by its proto path, so a client can fix all of them in one go. An empty list means valid. A v1
 * sale (fields of v1 only) gets exactly the violations it always did.
 */
export function checkSale(
  sale: Sale | undefined,
  limits: SaleLimits,
  nowMs: number = Date.now(),
): RuleViolation[] {
  const v = new Violations();
  if (!sale) {
    v.add("sale", "is required");
    return v.list;
  }
  v.text("sale.sale_id", sale.saleId, 1, 128);
  v.text("sale.location_id", sale.locationId, 1, 128);
  v.text("sale.register_id", sale.registerId, 1, 128);
  if (!SOURCE_PATTERN.test(sale.source)) {
    v.add(
      "sale.source",
      "must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
  }

  let occurredOk = false;
  if (!sale.occurredAt) {
    v.add("sale.occurred_at", "is required");
  } else {
    const { seconds, nanos } = sale.occurredAt;
    const latest = BigInt(Math.floor(nowMs / 1000) + limits.maxFutureSkewSeconds);
    if (nanos < 0 || nanos > 999_999_999) v.add("sale.occurred_at.nanos", "must be 0-999999999");
    if (seconds < MIN_OCCURRED_AT_SECONDS) v.add("sale.occurred_at", "is before 2000-01-01");
    else if (seconds > latest) {
      v.add("sale.occurred_at", `is more than ${limits.maxFutureSkewSeconds}s in the future`);
    } else occurredOk = true;
  }

  if (!CURRENCY_PATTERN.test(sale.currency) || currencyExponent(sale.currency) === undefined) {
    v.add("sale.currency", "must be an ISO 4217 alphabetic code such as EUR");
  }

  const kind = checkKind(v, sale);
  if (sale.businessDay !== "") {
    checkBusinessDay(v, sale.businessDay, occurredOk ? sale.occurredAt?.seconds : undefined);
  }
  v.freeText("sale.cashier_id", sale.cashierId, 0, 128);
  v.text("sale.loyalty_account_id", sale.loyaltyAccountId, 0, 128);

  const beforeAmounts = v.count;
  checkLineRounding(v, sale);
  checkLines(v, sale, kind, limits);
  checkBasketDiscounts(v, sale);
  checkServiceCharges(v, sale, kind);
  checkPayments(v, sale, kind);
  checkCashRounding(v, sale);

  const t = sale.totals;
  if (!t) v.add("sale.totals", "is required");
  else if (v.count === beforeAmounts) checkTotals(v, sale, t, kind);

  if (sale.customer) {
    const c = sale.customer;
    v.text("sale.customer.customer_id", c.customerId, 0, 128);
    v.freeText("sale.customer.name", c.name, 0, 256);
    v.text("sale.customer.phone", c.phone, 0, 64);
    const emailOk = v.text("sale.customer.email", c.email, 0, 256);
    if (c.email !== "" && !EMAIL_PATTERN.test(c.email)) {
      v.add("sale.customer.email", "is not an email address");
    } else if (emailOk && looksLikePan(c.email)) v.add("sale.customer.email", PAN_TEXT);
  }

  const attributeKeys = Object.keys(sale.attributes);
  if (attributeKeys.length > MAX_ATTRIBUTES) {
    v.add("sale.attributes", `must have at most ${MAX_ATTRIBUTES} entries`);
  } else {
    for (const key of attributeKeys) {
      const f = `sale.attributes[${JSON.stringify(key)}]`;
      if (v.text(f, key, 1, 64, "key") && looksLikePan(key)) {
        // The field path would echo the key, so the violation names the map instead.
        v.add("sale.attributes", `has a key that ${PAN_TEXT}`);
        continue;
      }
      v.freeText(f, sale.attributes[key] ?? "", 0, 1024);
    }
  }
  return v.list;
}

/**
 * The kind and reference (`sale.kind`, `sale.original`), and the kind whose rules apply: a
 * post-void repeats the transaction it voids, so it is checked as that one's kind.
 */
function checkKind(v: Violations, sale: Sale): RulesKind {
  const kind = sale.kind;
  const o = sale.original;
  if (!(kind in TransactionKind)) {
    v.add("sale.kind", "must be a known transaction kind");
    return UNKNOWN;
  }
  if (kind === TransactionKind.UNSPECIFIED || kind === TransactionKind.SALE) {
    if (o) v.add("sale.original", "must be absent on a sale");
    return TransactionKind.SALE;
  }
  if (!o) {
    if (kind === TransactionKind.POST_VOID) {
      v.add("sale.original", "is required for a post-void");
      return UNKNOWN;
    }
    return kind;
  }
  v.text("sale.original.sale_id", o.saleId, 1, 128);
  v.text("sale.original.location_id", o.locationId, 0, 128);
  if (o.source !== "" && !SOURCE_PATTERN.test(o.source)) {
    v.add("sale.original.source", "must be empty or a valid source");
  }
  v.text("sale.original.idempotency_key", o.idempotencyKey, 0, 255);
  if (!(o.kind in TransactionKind)) {
    v.add("sale.original.kind", "must be a known transaction kind");
    return kind === TransactionKind.POST_VOID ? UNKNOWN : kind;
  }
  if (kind === TransactionKind.POST_VOID) {
    if (o.kind === TransactionKind.POST_VOID) {
      v.add("sale.original.kind", "a void cannot be voided");
      return UNKNOWN;
    }
    if (o.kind === TransactionKind.UNSPECIFIED) {
      v.add("sale.original.kind", "is required for a post-void: SALE, RETURN or EXCHANGE");
      return UNKNOWN;
    }
    return o.kind;
  }
  if (o.kind === TransactionKind.RETURN || o.kind === TransactionKind.POST_VOID) {
    const what = kind === TransactionKind.RETURN ? "a return" : "an exchange";
    v.add("sale.original.kind", `must be SALE or EXCHANGE for ${what}`);
  }
  return kind;
}

/**
 * A real calendar date whose day is at most two before and one after the UTC date of the
 * transaction (UTC offsets -12..+14, and shifts that close after midnight).
 */
function checkBusinessDay(v: Violations, day: string, occurredSeconds: bigint | undefined): void {
  const ms = calendarDayMs(day);
  if (ms === undefined) {
    v.add("sale.business_day", "must be a date YYYY-MM-DD");
    return;
  }
  if (occurredSeconds === undefined) return;
  const bd = Math.floor(ms / DAY_MS);
  const utc = Math.floor(Number(occurredSeconds) / 86_400);
  if (utc < bd - 1 || utc > bd + 2) {
    v.add(
      "sale.business_day",
      "must be from 2 days before to 1 day after the UTC date of occurred_at",
    );
  }
}
