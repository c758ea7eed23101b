import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  LineKind,
  RoundingRule,
  type Sale,
  SaleSchema,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { allocate, checkSale, lineAmount } from "../contract/index.js";
import { businessDay, type Draft, finish, pay, taxesOn, wholesaleLines } from "./gen-parts.js";
import { FUEL, PRODUCTS, type Product, REGIONS, type Region } from "./gen-regions.js";
import { seededRandom } from "./seeded-random.js";

type SaleInit = MessageInitShape<typeof SaleSchema>;

const STORES = 40;
const SOURCES = ["square", "lightspeed", "acme-pos"] as const;
/** Past sales a store keeps for returns and voids to refer to. */
const POOL = 50;
const DAY_MS = 86_400_000;

/** `--seed` reproduces a file byte for byte. */
const prng = seededRandom;

/**
 * Realistic, valid synthetic transactions, the mix a retail chain's POS emits: 40 stores in six
 * tax regimes (see gen-regions.ts) on three POS systems; about 93% sales (2.5% of them with a
 * voided line, 5% with a basket coupon, bag and delivery fees, fuel at sub-cent prices, tips on
 * restaurant card checks, 0.1% wholesale orders of 1,000-3,000 lines), 3% returns (two thirds
 * with the receipt of a sale earlier in the file), 1% exchanges and 0.5% post-voids of an
 * earlier sale; cash tendered in banknotes with change, CHF cash rounding to 0.05. Spread over
 * the 30 days before `end` (`spread` narrows it: one big store's day for a reconciliation, say),
 * business day closing at 04:00 local time. The same seed and end give
 * the same transactions; every one passes the server's rules (`checkSale`), or this throws.
 */
export function* generateSales(
  count: number,
  seed: number,
  end: Date,
  spread: { readonly stores?: number; readonly days?: number } = {},
): Generator<Sale> {
  const stores = spread.stores ?? STORES;
  const days = spread.days ?? 30;
  const now = end.getTime();
  const day = end.toISOString().slice(0, 10).replaceAll("-", "");
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const numbers = new Map<number, number>();
  const pools = new Map<number, Sale[]>();

  for (let i = 0; i < count; i++) {
    const store = Math.floor(random() * stores);
    const region = REGIONS[store % REGIONS.length] as Region;
    const restaurant = store % 5 === 0;
    const pool = pools.get(store) ?? [];
    pools.set(store, pool);
    const n = (numbers.get(store) ?? 0) + 1;
    numbers.set(store, n);
    const base: SaleInit = {
      // The end date is part of the id: a file generated another day is other sales, not
      // conflicting versions of the same ones.
      saleId: `store-${String(store + 1).padStart(3, "0")}-${day}-${seed}-${String(n).padStart(7, "0")}`,
      locationId: `store-${String(store + 1).padStart(3, "0")}`,
      registerId: `till-${1 + Math.floor(random() * 4)}`,
      source: SOURCES[store % SOURCES.length] as string,
      currency: region.currency,
      cashierId: `cashier-${1 + Math.floor(random() * 12)}`,
      lineRounding: RoundingRule.HALF_UP,
    };
    if (chance(0.2)) {
      const id = Math.floor(random() * 100_000);
      base.customer = { customerId: `cust-${id}` };
      base.loyaltyAccountId = `loyalty-${id}`;
    }
    const r = random();
    const [num, den] = region.priceScale;
    const price = (p: Product) => (p.centsOfMajor * num) / den;
    const newLine = (kind: LineKind): Draft => {
      const p = pick(PRODUCTS);
      const quantityMilli = p.weighed
        ? BigInt(150 + Math.floor(random() * 1850))
        : BigInt(1 + Math.floor(random() * random() * 4)) * 1000n;
      return {
        product: p,
        line: { sku: p.sku, name: p.name, quantityMilli, unitPriceMinor: price(p), kind },
      };
    };
    let sale: SaleInit;
    let at = now - Math.floor(random() * days * DAY_MS);
    const original =
      pool.length > 0 && chance(0.67) ? pool[Math.floor(random() * pool.length)] : undefined;
    if (r < 0.005 && original) {
      // A post-void repeats the voided transaction as it was, a few minutes later.
      pool.splice(pool.indexOf(original), 1);
      const { $typeName: _, ...body } = original;
      at = Math.min(now - 60_000, timestampDate(original.occurredAt as never).getTime() + 180_000);
      sale = {
        ...body,
        ...base,
        currency: original.currency,
        lineRounding: original.lineRounding,
        kind: TransactionKind.POST_VOID,
        original: { saleId: original.saleId, kind: TransactionKind.SALE },
        businessDay: original.businessDay,
        occurredAt: timestampFromDate(new Date(at)),
      };
    } else if (r < 0.045) {
      // Returns (3%) and exchanges (1%): lines of an earlier sale when the customer has the
      // receipt, else a product at today's price.
      const exchange = r >= 0.035;
      let drafts: Draft[];
      if (original) {
        pool.splice(pool.indexOf(original), 1);
        at = Math.max(at, timestampDate(original.occurredAt as never).getTime() + 3_600_000);
        at = Math.min(at, now - 60_000);
        const lines = original.lineItems.filter((l) => !l.voided);
        const chosen = exchange ? [pick(lines)] : lines.filter(() => chance(0.5));
        if (chosen.length === 0) chosen.push(lines[0] as (typeof lines)[number]);
        drafts = chosen.map((l) => ({
          product: {
            sku: l.sku,
            name: l.name,
            food: l.taxes.some((t) => region.food.some((f) => f.code === t.code)),
          },
          line: {
            sku: l.sku,
            name: l.name,
            quantityMilli: l.quantityMilli,
            unitPriceMinor: l.unitPriceMinor,
            unitPriceScaled: l.unitPriceScaled,
            unitPriceScale: l.unitPriceScale,
            // The line's whole discount as the customer got it, basket shares included.
            discountMinor:
              l.discountMinor + l.appliedDiscounts.reduce((s, d) => s + d.amountMinor, 0n),
            kind: LineKind.RETURN,
            originalLineId: l.lineId,
          },
        }));
        base.original = { saleId: original.saleId, kind: TransactionKind.SALE };
      } else {
        drafts = [newLine(LineKind.RETURN)];
      }
      if (exchange)
        drafts.push(newLine(LineKind.SALE), ...(chance(0.5) ? [newLine(LineKind.SALE)] : []));
      sale = {
        ...base,
        kind: exchange ? TransactionKind.EXCHANGE : TransactionKind.RETURN,
        lineItems: finish(drafts, region),
      };
    } else {
      const wholesale = region.country === "GB" && chance(0.01);
      const drafts = wholesale
        ? wholesaleLines(1000 + Math.floor(random() * 2001), random)
        : Array.from({ length: 1 + Math.floor(random() * random() * 6) }, () =>
            newLine(LineKind.SALE),
          );
      if (!wholesale) {
        for (const d of drafts) if (chance(0.1)) d.line.discountMinor = lineAmount(d.line) / 10n;
        if (region.country === "US" && chance(0.1)) {
          drafts.push({
            product: { sku: FUEL.sku, name: FUEL.name, food: false },
            line: {
              sku: FUEL.sku,
              name: FUEL.name,
              quantityMilli: BigInt(5000 + Math.floor(random() * 10_000)),
              unitPriceScaled: FUEL.tenthsOfCent,
              unitPriceScale: 1,
              kind: LineKind.SALE,
            },
          });
        }
        if (chance(0.025))
          (drafts[Math.floor(random() * drafts.length)] as Draft).line.voided = true;
        if (drafts.every((d) => d.line.voided)) (drafts[0] as Draft).line.voided = false;
      }
      sale = { ...base, kind: TransactionKind.SALE };
      if (chance(0.05)) {
        const weights = drafts.map((d) =>
          d.line.voided ? 0n : lineAmount(d.line) - (d.line.discountMinor ?? 0n),
        );
        const total = weights.reduce((a, b) => a + b, 0n);
        const amount = total / 10n;
        if (amount > 0n) {
          sale.basketDiscounts = [
            {
              code: "COUPON10",
              name: "10% off the basket",
              amountMinor: amount,
              ratePpm: 100_000n,
            },
          ];
          allocate(amount, weights).forEach((share, k) => {
            if (share > 0n)
              (drafts[k] as Draft).line.appliedDiscounts = [
                { discountIndex: 0, amountMinor: share },
              ];
          });
        }
      }
      sale.lineItems = finish(drafts, region, wholesale);
      if (region.fee && !wholesale && chance(region.fee.share)) {
        const f = region.fee;
        const amountMinor = f.amount;
        sale.serviceCharges = [
          {
            code: f.code,
            name: f.name,
            amountMinor,
            taxes: f.taxed ? taxesOn(amountMinor, region.general) : [],
          },
        ];
      }
    }
    const occurredAt = new Date(at);
    sale.occurredAt ??= timestampFromDate(occurredAt);
    sale.businessDay ??= businessDay(occurredAt, region);
    if (sale.kind !== TransactionKind.POST_VOID)
      pay(sale, region, restaurant && sale.kind === TransactionKind.SALE, random);
    const message = create(SaleSchema, sale);
    const problems = checkSale(message, { maxLineItems: 5000, maxFutureSkewSeconds: 300 }, now);
    if (problems.length > 0) {
      throw new Error(
        `gen-sales made an invalid transaction (a bug): ${JSON.stringify(problems.slice(0, 3))}`,
      );
    }
    if (
      message.kind === TransactionKind.SALE &&
      !message.lineItems.some((l) => (l.unitPriceScale ?? 0) > 0)
    ) {
      pool.push(message);
      if (pool.length > POOL) pool.shift();
    }
    yield message;
  }
}
