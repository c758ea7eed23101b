import { type Sale, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { lineAmountMinor, totalMinorOf } from "../contract/sale-rules.js";
import type { FieldViolation } from "../errors.js";

/** The bounds a sale must respect; the configurable ones come from config. */
export interface ValidationLimits {
  readonly maxLineItems: number;
  readonly maxFutureSkewSeconds: number;
}

/** Ten trillion minor units: beyond any real sale, far inside int64, catches unit mix-ups. */
export const MAX_AMOUNT_MINOR = 10_000_000_000_000n;
/** One million units (in thousandths). */
export const MAX_QUANTITY_MILLI = 1_000_000_000n;
export const MAX_PAYMENTS = 100;
export const MAX_ATTRIBUTES = 64;
/** Sales before this are data errors (an unset POS clock), not history: 2000-01-01T00:00:00Z. */
export const MIN_OCCURRED_AT_SECONDS = 946_684_800n;
const MAX_VIOLATIONS = 20;

const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
// Deliberately loose: the POS owns contact data; we only refuse what is clearly not an address.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
// C0 and C1 control characters (and DEL): never part of an id or a name, often a sign of a
// mangled encoding.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/**
 * Checks a sale against the contract in proto/pos/ingest/v1/sale.proto: required fields, ranges,
 * sizes, and totals that add up. Returns every violation found (up to a cap), each naming its
 * field by its proto path, so a client can fix all of them in one go. An empty list means valid.
 */
export function validateSale(
  sale: Sale | undefined,
  limits: ValidationLimits,
  nowMs: number = Date.now(),
): FieldViolation[] {
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

  if (!sale.occurredAt) {
    v.add("sale.occurred_at", "is required");
  } else {
    const { seconds, nanos } = sale.occurredAt;
    const latest = BigInt(Math.floor(nowMs / 1000) + limits.maxFutureSkewSeconds);
    if (nanos < 0 || nanos > 999_999_999) v.add("sale.occurred_at.nanos", "must be 0-999999999");
    if (seconds < MIN_OCCURRED_AT_SECONDS) v.add("sale.occurred_at", "is before 2000-01-01");
    else if (seconds > latest) {
      v.add("sale.occurred_at", `is more than ${limits.maxFutureSkewSeconds}s in the future`);
    }
  }

  if (!CURRENCY_PATTERN.test(sale.currency) || !KNOWN_CURRENCIES.has(sale.currency)) {
    v.add("sale.currency", "must be an ISO 4217 alphabetic code such as EUR");
  }

  const beforeAmounts = v.count;
  let subtotal = 0n;
  let discount = 0n;
  let tax = 0n;
  if (sale.lineItems.length === 0) v.add("sale.line_items", "must have at least one line");
  if (sale.lineItems.length > limits.maxLineItems) {
    v.add("sale.line_items", `must have at most ${limits.maxLineItems} lines`);
  } else {
    sale.lineItems.forEach((item, i) => {
      const at = `sale.line_items[${i}]`;
      v.text(`${at}.sku`, item.sku, 1, 128);
      v.text(`${at}.name`, item.name, 0, 256);
      const qtyOk = v.range(`${at}.quantity_milli`, item.quantityMilli, 1n, MAX_QUANTITY_MILLI);
      const priceOk = v.range(`${at}.unit_price_minor`, item.unitPriceMinor, 0n, MAX_AMOUNT_MINOR);
      v.range(`${at}.tax_minor`, item.taxMinor, 0n, MAX_AMOUNT_MINOR);
      if (qtyOk && priceOk) {
        const extended = lineAmountMinor(item);
        v.range(`${at}.discount_minor`, item.discountMinor, 0n, extended, "the line's amount");
        subtotal += extended;
      }
      discount += item.discountMinor;
      tax += item.taxMinor;
    });
  }

  if (sale.payments.length > MAX_PAYMENTS) {
    v.add("sale.payments", `must have at most ${MAX_PAYMENTS} payments`);
  }
  let paid = 0n;
  sale.payments.slice(0, MAX_PAYMENTS).forEach((p, i) => {
    const at = `sale.payments[${i}]`;
    if (p.tenderType === TenderType.UNSPECIFIED || !(p.tenderType in TenderType)) {
      v.add(`${at}.tender_type`, "must be a known tender type");
    }
    v.range(`${at}.amount_minor`, p.amountMinor, 1n, MAX_AMOUNT_MINOR);
    paid += p.amountMinor;
  });

  const t = sale.totals;
  if (!t) {
    v.add("sale.totals", "is required");
  } else if (v.count === beforeAmounts) {
    // Totals are only compared once every line and payment is valid, so one bad line yields one
    // violation rather than a cascade of sums that disagree because of it.
    v.equal("sale.totals.subtotal_minor", t.subtotalMinor, subtotal, "the sum of the lines");
    v.equal("sale.totals.discount_minor", t.discountMinor, discount, "the sum of line discounts");
    v.equal("sale.totals.tax_minor", t.taxMinor, tax, "the sum of line taxes");
    v.equal("sale.totals.total_minor", t.totalMinor, totalMinorOf(t), "subtotal - discount + tax");
    if (v.count === beforeAmounts) {
      v.equal("sale.payments", paid, t.totalMinor, "totals.total_minor");
    }
  }

  if (sale.customer) {
    const c = sale.customer;
    v.text("sale.customer.customer_id", c.customerId, 0, 128);
    v.text("sale.customer.name", c.name, 0, 256);
    v.text("sale.customer.phone", c.phone, 0, 64);
    v.text("sale.customer.email", c.email, 0, 256);
    if (c.email !== "" && !EMAIL_PATTERN.test(c.email)) {
      v.add("sale.customer.email", "is not an email address");
    }
  }

  const attributeKeys = Object.keys(sale.attributes);
  if (attributeKeys.length > MAX_ATTRIBUTES) {
    v.add("sale.attributes", `must have at most ${MAX_ATTRIBUTES} entries`);
  } else {
    for (const key of attributeKeys) {
      v.text(`sale.attributes[${JSON.stringify(key)}]`, key, 1, 64, "key");
      v.text(`sale.attributes[${JSON.stringify(key)}]`, sale.attributes[key] ?? "", 0, 1024);
    }
  }
  return v.list;
}

class Violations {
  readonly list: FieldViolation[] = [];

  get count(): number {
    return this.list.length;
  }

  add(field: string, description: string): void {
    if (this.list.length < MAX_VIOLATIONS) this.list.push({ field, description });
  }

  text(field: string, value: string, min: number, max: number, what = "value"): void {
    if (value.length < min) this.add(field, min === 1 ? "is required" : `must be at least ${min}`);
    else if (value.length > max) this.add(field, `${what} must be at most ${max} characters`);
    else if (CONTROL_CHARS.test(value))
      this.add(field, `${what} must not contain control characters`);
  }

  range(field: string, value: bigint, min: bigint, max: bigint, maxName?: string): boolean {
    if (value < min) this.add(field, `must be at least ${min}`);
    else if (value > max) this.add(field, `must be at most ${maxName ?? max.toString()}`);
    else return true;
    return false;
  }

  equal(field: string, actual: bigint, expected: bigint, what: string): void {
    if (actual !== expected) this.add(field, `is ${actual} but ${what} is ${expected}`);
  }
}
