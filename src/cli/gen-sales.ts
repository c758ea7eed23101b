import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  LineKind,
  type LineTax,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { currencyExponent } from "../contract/index.js";
import type { CsvColumn } from "./csv-columns.js";
import { generateSales } from "./gen-transactions.js";
import type { SaleFormat } from "./sale-file.js";

export { generateSales };

/** The columns gen-sales writes, in this order; the reader's own names (csv-columns.ts). */
const CSV_COLUMNS: readonly CsvColumn[] = [
  "source",
  "location_id",
  "register_id",
  "sale_id",
  "occurred_at",
  "currency",
  "kind",
  "original_sale_id",
  "original_kind",
  "business_day",
  "cashier_id",
  "loyalty_account_id",
  "cash_rounding",
  "line_rounding",
  "basket_discounts",
  "row_type",
  "sku",
  "name",
  "quantity",
  "unit_price_minor",
  "unit_price",
  "line_kind",
  "voided",
  "line_id",
  "original_line_id",
  "line_discount_minor",
  "line_tax_minor",
  "line_taxes",
  "basket_shares",
  "payments",
  "subtotal_minor",
  "discount_minor",
  "tax_minor",
  "total_minor",
  "service_charge_minor",
  "included_tax_minor",
  "rounding_minor",
  "tip_minor",
  "customer_id",
];
type Column = CsvColumn;

/** The header row of the CSV gen-sales writes. */
export const CSV_HEADER_LINE = CSV_COLUMNS.join(",");

const KINDS: Record<number, string> = {
  [TransactionKind.SALE]: "sale",
  [TransactionKind.RETURN]: "return",
  [TransactionKind.EXCHANGE]: "exchange",
  [TransactionKind.POST_VOID]: "post_void",
};
const LINE_KINDS: Record<number, string> = { [LineKind.SALE]: "sale", [LineKind.RETURN]: "return" };
const RULES: Record<number, string> = {
  [RoundingRule.HALF_UP]: "half_up",
  [RoundingRule.HALF_EVEN]: "half_even",
  [RoundingRule.DOWN]: "down",
  [RoundingRule.UP]: "up",
};

/**
 * One CSV row per line item and per service charge (`row_type=charge`), in the format
 * `pos-ingest send` reads, every v2 concept in its column (README, "Loading a backlog").
 */
export function csvRows(sale: Sale): string[] {
  const t = sale.totals;
  const txn: Partial<Record<Column, unknown>> = {
    source: sale.source,
    location_id: sale.locationId,
    register_id: sale.registerId,
    sale_id: sale.saleId,
    occurred_at: sale.occurredAt ? timestampDate(sale.occurredAt).toISOString() : "",
    currency: sale.currency,
    kind: KINDS[sale.kind] ?? "",
    original_sale_id: sale.original?.saleId ?? "",
    original_kind: sale.original ? (KINDS[sale.original.kind] ?? "") : "",
    business_day: sale.businessDay,
    cashier_id: sale.cashierId,
    loyalty_account_id: sale.loyaltyAccountId,
    cash_rounding: sale.cashRounding
      ? `${sale.cashRounding.incrementMinor}${RULES[sale.cashRounding.rule] ? `:${RULES[sale.cashRounding.rule]}` : ""}`
      : "",
    line_rounding: RULES[sale.lineRounding] ?? "",
    basket_discounts: sale.basketDiscounts
      .map(
        (d) => `${d.code}:${d.amountMinor}${d.ratePpm ? `:${scaledToDecimal(d.ratePpm, 4)}` : ""}`,
      )
      .join(";"),
    payments: sale.payments.map(paymentCell).join(";"),
    subtotal_minor: t?.subtotalMinor ?? 0n,
    discount_minor: t?.discountMinor ?? 0n,
    tax_minor: t?.taxMinor ?? 0n,
    total_minor: t?.totalMinor ?? 0n,
    service_charge_minor: t?.serviceChargeMinor ?? 0n,
    included_tax_minor: t?.includedTaxMinor ?? 0n,
    rounding_minor: t?.roundingMinor ?? 0n,
    tip_minor: t?.tipMinor ?? 0n,
    customer_id: sale.customer?.customerId ?? "",
  };
  const exponent = currencyExponent(sale.currency) ?? 2;
  const lines = sale.lineItems.map((l) => ({
    ...txn,
    sku: l.sku,
    name: l.name,
    quantity: milliToDecimal(l.quantityMilli),
    unit_price_minor: l.unitPriceScale > 0 ? "" : l.unitPriceMinor,
    unit_price: l.unitPriceScale > 0 ? fixed(l.unitPriceScaled, l.unitPriceScale + exponent) : "",
    line_kind: LINE_KINDS[l.kind] ?? "",
    voided: l.voided ? "true" : "",
    line_id: l.lineId,
    original_line_id: l.originalLineId,
    line_discount_minor: l.discountMinor,
    line_tax_minor: l.taxMinor,
    line_taxes: taxesCell(l.taxes),
    basket_shares: l.appliedDiscounts
      .map((a) => `${sale.basketDiscounts[a.discountIndex]?.code ?? ""}:${a.amountMinor}`)
      .join(";"),
  }));
  const charges = sale.serviceCharges.map((c) => ({
    ...txn,
    row_type: "charge",
    sku: c.code,
    name: c.name,
    quantity: "1",
    unit_price_minor: c.amountMinor,
    line_kind: LINE_KINDS[c.kind] ?? "",
    line_taxes: taxesCell(c.taxes),
  }));
  return [...lines, ...charges].map((row) =>
    CSV_COLUMNS.map((c) => csvField(String(row[c] ?? ""))).join(","),
  );
}

function paymentCell(p: Sale["payments"][number]): string {
  const options = [
    p.tipMinor !== 0n && `tip=${p.tipMinor}`,
    p.tenderedMinor !== 0n && `tendered=${p.tenderedMinor}`,
    p.changeMinor !== 0n && `change=${p.changeMinor}`,
    p.cardBrand && `brand=${p.cardBrand}`,
    p.cardLast4 && `last4=${p.cardLast4}`,
  ].filter(Boolean);
  return [TenderType[p.tenderType], p.amountMinor, ...options].join(":");
}

function taxesCell(taxes: readonly LineTax[]): string {
  return taxes
    .map(
      (x) =>
        `${x.code}:${x.mode === TaxMode.INCLUSIVE ? "incl" : "add"}:${scaledToDecimal(x.ratePpm, 4)}:${x.amountMinor}`,
    )
    .join(";");
}

/** `value` × 10^-`places` with every one of its decimals: 1790, 3 → "1.790" (the stated precision). */
function fixed(value: bigint, places: number): string {
  const factor = 10n ** BigInt(places);
  return `${value / factor}.${String(value % factor).padStart(places, "0")}`;
}

/** `value` × 10^-`places` as a decimal without trailing zeros: 62500, 4 → "6.25". */
function scaledToDecimal(value: bigint, places: number): string {
  const factor = 10n ** BigInt(places);
  const frac = String(value % factor)
    .padStart(places, "0")
    .replace(/0+$/, "");
  return frac === "" ? String(value / factor) : `${value / factor}.${frac}`;
}

function milliToDecimal(milli: bigint): string {
  const whole = milli / 1000n;
  const frac = milli % 1000n;
  return frac === 0n
    ? String(whole)
    : `${whole}.${String(frac).padStart(3, "0").replace(/0+$/, "")}`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** `pos-ingest gen-sales`: writes `count` sales to `out` (a file, or stdout when absent). */
export async function runGenSales(options: {
  count: number;
  seed: number;
  format: SaleFormat;
  out?: string;
  end: Date;
  stores?: number;
  days?: number;
}): Promise<number> {
  const stream = options.out ? createWriteStream(options.out) : process.stdout;
  const write = async (text: string) => {
    if (!stream.write(text)) await once(stream, "drain");
  };
  if (options.format === "csv") await write(`${CSV_HEADER_LINE}\n`);
  let chunk = "";
  const spread = {
    ...(options.stores !== undefined && { stores: options.stores }),
    ...(options.days !== undefined && { days: options.days }),
  };
  for (const sale of generateSales(options.count, options.seed, options.end, spread)) {
    chunk +=
      options.format === "csv"
        ? `${csvRows(sale).join("\n")}\n`
        : `${toJsonString(SaleSchema, sale)}\n`;
    if (chunk.length > 64 * 1024) {
      await write(chunk);
      chunk = "";
    }
  }
  await write(chunk);
  if (options.out) {
    stream.end();
    await once(stream, "finish");
    process.stderr.write(`wrote ${options.count} sales to ${options.out}\n`);
  }
  return 0;
}
