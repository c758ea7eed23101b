/**
 * The CSV columns `pos-ingest send` reads (README, "Loading a backlog"), and the header check
 * that stops a file whose header names a column this reader does not know: a typo must not
 * silently zero a tax.
 */

export const REQUIRED_COLUMNS = [
  "source",
  "location_id",
  "sale_id",
  "occurred_at",
  "currency",
  "sku",
  "quantity",
  "payments",
] as const;
const TOTAL_COLUMNS = ["subtotal_minor", "discount_minor", "tax_minor", "total_minor"] as const;
/** Totals a v2 transaction may state beside the four v1 ones; absent, they are 0. */
const MORE_TOTAL_COLUMNS = [
  "service_charge_minor",
  "included_tax_minor",
  "rounding_minor",
  "tip_minor",
] as const;
const OPTIONAL_COLUMNS = [
  "unit_price_minor",
  "unit_price",
  "register_id",
  "name",
  "line_discount_minor",
  "line_tax_minor",
  "customer_id",
  "customer_name",
  "customer_email",
  "customer_phone",
  "kind",
  "original_sale_id",
  "original_location_id",
  "original_source",
  "original_idempotency_key",
  "original_kind",
  "business_day",
  "cashier_id",
  "loyalty_account_id",
  "cash_rounding",
  "line_rounding",
  "basket_discounts",
  "row_type",
  "line_kind",
  "voided",
  "line_id",
  "original_line_id",
  "line_taxes",
  "basket_shares",
  ...TOTAL_COLUMNS,
  ...MORE_TOTAL_COLUMNS,
] as const;
/** Every column the reader knows, in the README's order. */
export const KNOWN_COLUMNS: readonly CsvColumn[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];
const KNOWN = new Set<string>(KNOWN_COLUMNS);

/** A column the reader knows: what a writer (gen-sales) may put in a header. */
export type CsvColumn = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

export type Row = Record<string, string>;

/** Why a plain CSV header cannot be read: a column missing, unknown or incomplete. */
export function headerProblem(columns: string[]): string | undefined {
  const unknown = columns.filter((c) => !KNOWN.has(c));
  if (unknown.length > 0) return `header has unknown column(s) ${unknown.join(", ")}`;
  return fieldsProblem(columns, { paymentsOptional: false, what: "header" });
}

/**
 * Why rows with these columns (a header's, or what a mapping fills) cannot make transactions;
 * `paymentsOptional` when a mapping gives a tender for transactions without one.
 */
export function fieldsProblem(
  columns: readonly string[],
  options: { paymentsOptional: boolean; what: string },
): string | undefined {
  const { what } = options;
  const missing = REQUIRED_COLUMNS.filter(
    (c) => !columns.includes(c) && !(c === "payments" && options.paymentsOptional),
  );
  if (missing.length > 0) return `${what} lacks column(s) ${missing.join(", ")}`;
  if (!columns.includes("unit_price_minor") && !columns.includes("unit_price")) {
    return `${what} lacks column unit_price_minor (or unit_price, in major units)`;
  }
  const totals = TOTAL_COLUMNS.filter((c) => columns.includes(c));
  if (totals.length > 0 && totals.length < TOTAL_COLUMNS.length) {
    return `${what} must have all of ${TOTAL_COLUMNS.join(", ")} or none (then they are computed)`;
  }
  const more = MORE_TOTAL_COLUMNS.filter((c) => columns.includes(c));
  if (more.length > 0 && totals.length === 0) {
    return `${what} has ${more.join(", ")} but not ${TOTAL_COLUMNS.join(", ")}`;
  }
  return undefined;
}
