import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  LineKind,
  type RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  type TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { CellError } from "./cell-error.js";
import type { Row } from "./csv-columns.js";
import {
  basketDiscounts,
  choice,
  codeAmounts,
  flag,
  integer,
  milli,
  payments,
  ROUNDING_RULES,
  type TaxCell,
  taxes,
  timestamp,
  unitPrice,
} from "./csv-values.js";

/**
 * CSV rows to sales: one row per line item (or per service charge, `row_type=charge`), the rows
 * of a transaction consecutive and repeating its transaction-level columns, the first row's
 * used. The columns are listed in the README ("Loading a backlog"); every v1 file reads as before.
 */

type SaleInit = MessageInitShape<typeof SaleSchema>;
type TotalsInit = NonNullable<SaleInit["totals"]>;
type LineInit = NonNullable<SaleInit["lineItems"]>[number];
type ChargeInit = NonNullable<SaleInit["serviceCharges"]>[number];

/** The sale arithmetic the reader needs; the rules module provides it (src/contract). */
export interface CsvSaleRules {
  /** Totals of a transaction whose items are complete, for files without total columns. */
  computeTotals(sale: SaleInit): TotalsInit;
  /** Minor-unit exponent of an ISO 4217 currency, undefined when unknown. */
  currencyExponent(code: string): number | undefined;
  /** Splits `amount` over `weights` exactly (largest remainder). */
  allocate(amount: bigint, weights: readonly bigint[]): bigint[];
  /** A line's amount before discounts (unit price × quantity, rounded by `rule`). */
  lineAmount(line: LineInit, rule: RoundingRule): bigint;
}

const TRANSACTION_KINDS: Record<string, TransactionKind> = {
  sale: TransactionKind.SALE,
  return: TransactionKind.RETURN,
  exchange: TransactionKind.EXCHANGE,
  post_void: TransactionKind.POST_VOID,
};
const LINE_KINDS: Record<string, LineKind> = { sale: LineKind.SALE, return: LineKind.RETURN };

/** One row read: a line item (with the basket shares it names by code) or a service charge. */
export type RowItem =
  | {
      readonly type: "item";
      readonly line: LineInit;
      readonly shares: { code: string; amountMinor: bigint }[];
    }
  | { readonly type: "charge"; readonly charge: ChargeInit };

/** Reads one row's own columns; throws naming the column, so an error names the row it is on. */
export function rowItem(r: Row, rules: CsvSaleRules): RowItem {
  const type = choice(r.row_type ?? "", "row_type", { item: "item", charge: "charge" }, "item");
  // A negative quantity is how spreadsheets and ERP exports write a return: read it as a return
  // line of that magnitude, unless the row says it is a sale line, which is then an error.
  const quantity = milli(r.quantity ?? "", "quantity");
  const stated = choice(r.line_kind ?? "", "line_kind", LINE_KINDS, undefined);
  if (quantity < 0n && stated === LineKind.SALE) {
    throw new CellError(
      "quantity",
      "negative on a line_kind=sale row (a return line is line_kind=return)",
    );
  }
  const kind = stated ?? (quantity < 0n ? LineKind.RETURN : LineKind.UNSPECIFIED);
  const lineTaxes = taxes(r.line_taxes ?? "", "line_taxes").map(taxOf);
  const price = priceOf(r, rules);
  if (type === "charge") {
    if (quantity !== 1000n && quantity !== -1000n)
      throw new CellError("quantity", "a charge row has quantity 1");
    if (price.unitPriceScale !== 0)
      throw new CellError("unit_price", "a charge is whole minor units");
    return {
      type: "charge",
      charge: {
        code: r.sku ?? "",
        name: r.name ?? "",
        amountMinor: price.unitPriceMinor,
        kind,
        taxes: lineTaxes,
      },
    };
  }
  const added = lineTaxes
    .filter((t) => t.mode === TaxMode.ADDITIVE)
    .reduce((sum, t) => sum + t.amountMinor, 0n);
  const taxCell = r.line_tax_minor ?? "";
  const taxMinor = taxCell.trim() === "" ? added : integer(taxCell, "line_tax_minor");
  if (lineTaxes.length > 0 && taxMinor !== added) {
    throw new CellError(
      "line_tax_minor",
      `${taxMinor} but the added taxes in line_taxes sum to ${added}`,
    );
  }
  return {
    type: "item",
    line: {
      sku: r.sku ?? "",
      name: r.name ?? "",
      quantityMilli: quantity < 0n ? -quantity : quantity,
      ...price,
      discountMinor: integer(r.line_discount_minor?.trim() || "0", "line_discount_minor"),
      taxMinor,
      kind,
      voided: flag(r.voided ?? "", "voided"),
      taxes: lineTaxes,
      lineId: r.line_id ?? "",
      originalLineId: r.original_line_id ?? "",
    },
    shares: codeAmounts(r.basket_shares ?? "", "basket_shares"),
  };
}

function taxOf(t: TaxCell) {
  return { code: t.code, ratePpm: t.ratePpm, amountMinor: t.amountMinor, mode: t.mode };
}

function priceOf(r: Row, rules: CsvSaleRules) {
  const decimal = (r.unit_price ?? "").trim();
  const minor = (r.unit_price_minor ?? "").trim();
  if (decimal !== "" && minor !== "")
    throw new CellError("unit_price", "give unit_price or unit_price_minor, not both");
  if (decimal === "") {
    const n = integer(minor, "unit_price_minor");
    return { unitPriceMinor: n, unitPriceScaled: 0n, unitPriceScale: 0 };
  }
  const exponent = rules.currencyExponent(r.currency ?? "");
  if (exponent === undefined)
    throw new CellError("unit_price", `unknown currency "${r.currency ?? ""}"`);
  return unitPrice(decimal, exponent);
}

/** How rows become a transaction beyond what they say. */
export interface SaleOptions {
  /** For rows without payments: one payment of this tender for the total (an export's policy). */
  readonly tender?: TenderType | undefined;
}

/** The transaction the rows of one group make. */
export function saleFromRows(rows: Row[], rules: CsvSaleRules, options: SaleOptions = {}): Sale {
  const first = rows[0] as Row;
  const items = rows.map((r) => rowItem(r, rules));
  const discounts = basketDiscounts(first.basket_discounts ?? "").map((d) => ({
    ...d,
    name: d.code,
  }));
  const lineItems: LineInit[] = [];
  const serviceCharges: ChargeInit[] = [];
  const stated: { code: string; amountMinor: bigint }[][] = [];
  for (const item of items) {
    if (item.type === "charge") serviceCharges.push(item.charge);
    else {
      lineItems.push(item.line);
      stated.push(item.shares);
    }
  }
  const lineRounding = choice(first.line_rounding ?? "", "line_rounding", ROUNDING_RULES, 0);
  allocateShares(lineItems, stated, discounts, (l) => rules.lineAmount(l, lineRounding), rules);
  const init: SaleInit = {
    source: first.source ?? "",
    locationId: first.location_id ?? "",
    registerId: first.register_id ?? "",
    saleId: first.sale_id ?? "",
    occurredAt: timestamp(first.occurred_at ?? ""),
    currency: first.currency ?? "",
    lineItems,
    payments: payments(first.payments ?? ""),
    kind: choice(first.kind ?? "", "kind", TRANSACTION_KINDS, TransactionKind.UNSPECIFIED),
    businessDay: first.business_day ?? "",
    cashierId: first.cashier_id ?? "",
    loyaltyAccountId: first.loyalty_account_id ?? "",
    basketDiscounts: discounts,
    serviceCharges,
    lineRounding,
  };
  const original = [
    "original_sale_id",
    "original_location_id",
    "original_source",
    "original_idempotency_key",
    "original_kind",
  ];
  if (original.some((c) => (first[c] ?? "") !== "")) {
    init.original = {
      saleId: first.original_sale_id ?? "",
      locationId: first.original_location_id ?? "",
      source: first.original_source ?? "",
      idempotencyKey: first.original_idempotency_key ?? "",
      kind: choice(
        first.original_kind ?? "",
        "original_kind",
        TRANSACTION_KINDS,
        TransactionKind.UNSPECIFIED,
      ),
    };
  }
  if ((first.cash_rounding ?? "").trim() !== "") {
    const [increment = "", rule = ""] = (first.cash_rounding as string).split(":");
    init.cashRounding = {
      incrementMinor: integer(increment, "cash_rounding"),
      rule: choice(rule, "cash_rounding", ROUNDING_RULES, 0),
    };
  }
  if (first.customer_id || first.customer_email || first.customer_name || first.customer_phone) {
    init.customer = {
      customerId: first.customer_id ?? "",
      name: first.customer_name ?? "",
      email: first.customer_email ?? "",
      phone: first.customer_phone ?? "",
    };
  }
  init.totals = "total_minor" in first ? statedTotals(first) : rules.computeTotals(init);
  const total = init.totals.totalMinor ?? 0n;
  if (options.tender !== undefined && (init.payments as unknown[]).length === 0 && total !== 0n) {
    init.payments = [{ tenderType: options.tender, amountMinor: total }];
  }
  return create(SaleSchema, init);
}

function statedTotals(first: Row): TotalsInit {
  const cell = (c: string) => {
    const v = first[c];
    return v === undefined || v.trim() === "" ? 0n : integer(v, c);
  };
  return {
    subtotalMinor: integer(first.subtotal_minor ?? "", "subtotal_minor"),
    discountMinor: integer(first.discount_minor ?? "", "discount_minor"),
    taxMinor: integer(first.tax_minor ?? "", "tax_minor"),
    totalMinor: integer(first.total_minor ?? "", "total_minor"),
    serviceChargeMinor: cell("service_charge_minor"),
    includedTaxMinor: cell("included_tax_minor"),
    roundingMinor: cell("rounding_minor"),
    tipMinor: cell("tip_minor"),
  };
}

/**
 * Each line's shares of the basket discounts: as the rows state them, or, for a discount no row
 * names, allocated over the non-voided lines in proportion to their amount after line discount
 * (Square's rule), by the rules module so that the server agrees to the minor unit.
 */
function allocateShares(
  lines: LineInit[],
  stated: { code: string; amountMinor: bigint }[][],
  discounts: { code: string; amountMinor: bigint }[],
  amountOf: (line: LineInit) => bigint,
  rules: CsvSaleRules,
): void {
  const index = new Map(discounts.map((d, i) => [d.code, i]));
  const applied = lines.map(() => [] as { discountIndex: number; amountMinor: bigint }[]);
  const named = new Set<string>();
  stated.forEach((shares, i) => {
    for (const s of shares) {
      const at = index.get(s.code);
      if (at === undefined)
        throw new CellError("basket_shares", `"${s.code}" is not in basket_discounts`);
      named.add(s.code);
      applied[i]?.push({ discountIndex: at, amountMinor: s.amountMinor });
    }
  });
  discounts.forEach((d, k) => {
    if (named.has(d.code)) return;
    const weights = lines.map((l) => {
      const base = amountOf(l) - (l.discountMinor ?? 0n);
      return l.voided || base < 0n ? 0n : base;
    });
    rules.allocate(d.amountMinor, weights).forEach((share, i) => {
      if (share > 0n) applied[i]?.push({ discountIndex: k, amountMinor: share });
    });
  });
  lines.forEach((l, i) => {
    l.appliedDiscounts = applied[i] ?? [];
  });
}
