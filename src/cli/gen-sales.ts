import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { lineAmountMinor } from "../contract/sale-rules.js";
import { computedTotals, type SaleFormat } from "./sale-file.js";

/** A small catalogue: a café-bakery-grocery chain, with weighed goods (quantity in kg). */
const PRODUCTS = [
  { sku: "CAF-ESP", name: "Espresso", price: 250n, weighed: false },
  { sku: "CAF-CAP", name: "Cappuccino", price: 380n, weighed: false },
  { sku: "CAF-LAT", name: "Oat latte", price: 450n, weighed: false },
  { sku: "BAK-CRO", name: "Butter croissant", price: 320n, weighed: false },
  { sku: "BAK-SOU", name: "Sourdough loaf", price: 590n, weighed: false },
  { sku: "GRO-APL", name: "Apples (kg)", price: 349n, weighed: true },
  { sku: "GRO-CHE", name: "Comté 18 months (kg)", price: 2890n, weighed: true },
  { sku: "GRO-MLK", name: "Whole milk 1 l", price: 129n, weighed: false },
  { sku: "GRO-EGG", name: "Free-range eggs x6", price: 299n, weighed: false },
  { sku: "GRO-OLV", name: "Olive oil 500 ml", price: 899n, weighed: false },
] as const;
const SOURCES = ["square", "lightspeed", "acme-pos"] as const;
const CURRENCIES = [
  { currency: "EUR", taxPermille: 70n },
  { currency: "USD", taxPermille: 80n },
  { currency: "GBP", taxPermille: 200n },
] as const;

/** mulberry32: a tiny seeded PRNG, so `--seed` reproduces a file byte for byte. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Realistic, valid synthetic sales: 40 stores on three POS systems, 1-6 lines each (some weighed),
 * occasional line discounts, tax per country, card/cash/wallet payments (sometimes split), a
 * customer on some, spread over the 30 days before `end`. The same seed and end give the same
 * sales, so a regenerated file deduplicates against the first. Totals add up by the server's formula.
 */
export function* generateSales(count: number, seed: number, end: Date): Generator<Sale> {
  const now = end.getTime();
  const day = end.toISOString().slice(0, 10).replaceAll("-", "");
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const saleNumbers = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const store = Math.floor(random() * 40);
    const locationId = `store-${String(store + 1).padStart(3, "0")}`;
    const source = SOURCES[store % SOURCES.length] as (typeof SOURCES)[number];
    const { currency, taxPermille } = CURRENCIES[
      store % CURRENCIES.length
    ] as (typeof CURRENCIES)[number];
    const n = (saleNumbers.get(locationId) ?? 0) + 1;
    saleNumbers.set(locationId, n);
    const lines = 1 + Math.floor(random() * random() * 6);
    const lineItems = Array.from({ length: lines }, () => {
      const p = pick(PRODUCTS);
      const quantityMilli = p.weighed
        ? BigInt(150 + Math.floor(random() * 1850))
        : BigInt(1 + Math.floor(random() * random() * 4)) * 1000n;
      const amount = lineAmountMinor({ quantityMilli, unitPriceMinor: p.price });
      const discountMinor = random() < 0.1 ? amount / 10n : 0n;
      const taxMinor = ((amount - discountMinor) * taxPermille + 500n) / 1000n;
      return {
        sku: p.sku,
        name: p.name,
        quantityMilli,
        unitPriceMinor: p.price,
        discountMinor,
        taxMinor,
      };
    });
    const totals = computedTotals(lineItems);
    const { totalMinor } = totals;
    const r = random();
    const payments =
      r < 0.6
        ? [{ tenderType: TenderType.CARD, amountMinor: totalMinor }]
        : r < 0.85
          ? [{ tenderType: TenderType.CASH, amountMinor: totalMinor }]
          : r < 0.95
            ? [{ tenderType: TenderType.MOBILE_WALLET, amountMinor: totalMinor }]
            : [
                { tenderType: TenderType.GIFT_CARD, amountMinor: totalMinor / 2n },
                { tenderType: TenderType.CARD, amountMinor: totalMinor - totalMinor / 2n },
              ];
    const occurredAt = new Date(now - Math.floor(random() * 30 * 86_400_000));
    yield create(SaleSchema, {
      // The end date is part of the id: a file generated another day is other sales, not
      // conflicting versions of the same ones.
      saleId: `${locationId}-${day}-${seed}-${String(n).padStart(7, "0")}`,
      locationId,
      registerId: `till-${1 + Math.floor(random() * 4)}`,
      source,
      occurredAt: timestampFromDate(occurredAt),
      currency,
      lineItems,
      payments,
      totals,
      ...(random() < 0.2 && {
        customer: { customerId: `cust-${Math.floor(random() * 100_000)}`, email: "" },
      }),
      attributes: { cashier: `cashier-${1 + Math.floor(random() * 12)}` },
    });
  }
}

const CSV_HEADER =
  "source,location_id,register_id,sale_id,occurred_at,currency,sku,name,quantity," +
  "unit_price_minor,line_discount_minor,line_tax_minor,payments,subtotal_minor,discount_minor," +
  "tax_minor,total_minor,customer_id";

/** One CSV row per line item, in the format `pos-ingest send` reads. */
export function csvRows(sale: Sale): string[] {
  const t = sale.totals;
  const occurred = sale.occurredAt ? timestampDate(sale.occurredAt).toISOString() : "";
  const payments = sale.payments
    .map((p) => `${TenderType[p.tenderType]}:${p.amountMinor}`)
    .join(";");
  return sale.lineItems.map((l) =>
    [
      sale.source,
      sale.locationId,
      sale.registerId,
      sale.saleId,
      occurred,
      sale.currency,
      l.sku,
      l.name,
      milliToDecimal(l.quantityMilli),
      l.unitPriceMinor,
      l.discountMinor,
      l.taxMinor,
      payments,
      t?.subtotalMinor ?? 0n,
      t?.discountMinor ?? 0n,
      t?.taxMinor ?? 0n,
      t?.totalMinor ?? 0n,
      sale.customer?.customerId ?? "",
    ]
      .map((v) => csvField(String(v)))
      .join(","),
  );
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
}): Promise<number> {
  const stream = options.out ? createWriteStream(options.out) : process.stdout;
  const write = async (text: string) => {
    if (!stream.write(text)) await once(stream, "drain");
  };
  if (options.format === "csv") await write(`${CSV_HEADER}\n`);
  let chunk = "";
  for (const sale of generateSales(options.count, options.seed, options.end)) {
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
