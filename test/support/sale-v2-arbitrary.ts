/**
 * Random VALID v2 transactions of every kind (sale, return, exchange, post-void of each) and tax
 * mode (none as in v1, included, added, both, unstated rates), with voided lines, sub-minor unit
 * prices, basket discounts, service charges, tips, cash tendered with change and cash rounding.
 * Everything that must add up is computed through src/contract (allocate, roundDiv, cashRound,
 * computeTotals), so a property "valid -> no violations" tests the checks against the builders.
 *
 * Shape (kind, counts, which features) comes from fast-check and shrinks; the numbers come from a
 * seeded generator inside, which keeps the builder one straight-line function.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import {
  type LineItemSchema,
  LineKind,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { ISO4217 } from "../../src/contract/iso4217.js";
import { allocate, cashRound, PPM, roundDiv } from "../../src/contract/money.js";
import { computeTotals, lineAmount } from "../../src/contract/sale-rules.js";

/** The clock to check generated transactions against: none is later than this. */
export const V2_NOW_MS = Date.parse("2026-12-01T12:00:00Z");
/** Limits every generated transaction respects. */
export const V2_LIMITS = { maxLineItems: 500, maxFutureSkewSeconds: 300 } as const;

type Kind = TransactionKind.SALE | TransactionKind.RETURN | TransactionKind.EXCHANGE;
type TaxPlan = "none" | "included" | "added" | "both" | "unstated";
type LineInit = MessageInitShape<typeof LineItemSchema>;
type TaxInit = { code: string; ratePpm: bigint; amountMinor: bigint; mode: TaxMode };

/** What fast-check chooses (and shrinks); the rest follows from `seed`. */
export interface TransactionPlan {
  readonly kind: TransactionKind;
  readonly voidOf: Kind;
  readonly lines: number;
  readonly taxes: TaxPlan;
  readonly basketDiscounts: number;
  readonly charges: number;
  readonly cashRounding: boolean;
  readonly withOriginal: boolean;
  readonly seed: number;
}

const KINDS: Kind[] = [TransactionKind.SALE, TransactionKind.RETURN, TransactionKind.EXCHANGE];
const RULES = [
  RoundingRule.UNSPECIFIED,
  RoundingRule.HALF_UP,
  RoundingRule.HALF_EVEN,
  RoundingRule.DOWN,
  RoundingRule.UP,
];
const CURRENCIES = Object.keys(ISO4217);

/** The plans `validTransaction` draws from. */
export const transactionPlan: fc.Arbitrary<TransactionPlan> = fc.record({
  kind: fc.constantFrom(
    TransactionKind.UNSPECIFIED,
    TransactionKind.SALE,
    TransactionKind.RETURN,
    TransactionKind.EXCHANGE,
    TransactionKind.POST_VOID,
  ),
  voidOf: fc.constantFrom(...KINDS),
  lines: fc.integer({ min: 1, max: 8 }),
  taxes: fc.constantFrom<TaxPlan>("none", "included", "added", "both", "unstated"),
  basketDiscounts: fc.integer({ min: 0, max: 3 }),
  charges: fc.integer({ min: 0, max: 2 }),
  cashRounding: fc.boolean(),
  withOriginal: fc.boolean(),
  seed: fc.integer(),
});

/** A valid transaction of any kind: `checkSale(sale, V2_LIMITS, V2_NOW_MS)` finds nothing. */
export function validTransaction(): fc.Arbitrary<Sale> {
  return transactionPlan.map(buildTransaction);
}

/** The transaction a plan describes (deterministic: the same plan, the same sale). */
export function buildTransaction(plan: TransactionPlan): Sale {
  const r = random(plan.seed);
  const postVoid = plan.kind === TransactionKind.POST_VOID;
  const kind: Kind = postVoid
    ? plan.voidOf
    : plan.kind === TransactionKind.UNSPECIFIED
      ? TransactionKind.SALE
      : (plan.kind as Kind);
  const lineRounding = r.pick(RULES);
  const hasOriginal = postVoid || (kind !== TransactionKind.SALE && plan.withOriginal);

  // Lines: kinds by the transaction's kind, an exchange has one of each that counts.
  const lines: LineInit[] = [];
  const amounts: bigint[] = [];
  const lineCount = Math.max(plan.lines, kind === TransactionKind.EXCHANGE ? 2 : 1);
  for (let i = 0; i < lineCount; i++) {
    const lineKind =
      kind === TransactionKind.SALE
        ? r.pick([LineKind.UNSPECIFIED, LineKind.SALE])
        : kind === TransactionKind.RETURN
          ? LineKind.RETURN
          : i === 0
            ? LineKind.SALE
            : i === 1
              ? LineKind.RETURN
              : r.pick([LineKind.SALE, LineKind.RETURN]);
    const voided = i >= 2 && r.chance(0.15);
    const scale = r.chance(0.2) ? r.int(1, 6) : 0;
    const price = BigInt(r.int(0, scale > 0 ? 10_000_000 : 200_000));
    const line: LineInit = {
      sku: `SKU-${i}`,
      name: `Item ${i}`,
      quantityMilli: BigInt(r.pick([1000, 2000, r.int(1, 100_000)])),
      ...(scale > 0
        ? { unitPriceScaled: price, unitPriceScale: scale }
        : { unitPriceMinor: price }),
      kind: lineKind,
      voided,
      lineId: `${i + 1}`,
      ...(hasOriginal && lineKind === LineKind.RETURN ? { originalLineId: `${i + 1}` } : {}),
    };
    const amount = lineAmount(line as Parameters<typeof lineAmount>[0], lineRounding);
    line.discountMinor = r.chance(0.3) ? BigInt(r.int(0, Number(amount / 4n))) : 0n;
    lines.push(line);
    amounts.push(amount);
  }

  // Basket discounts, allocated over what each counting line has left after its own discount.
  const basketDiscounts: { code: string; name: string; amountMinor: bigint; ratePpm: bigint }[] =
    [];
  const left = lines.map((l, i) => (l.voided ? 0n : (amounts[i] ?? 0n) - (l.discountMinor ?? 0n)));
  for (let k = 0; k < plan.basketDiscounts; k++) {
    const room = left.reduce((a, b) => a + b, 0n);
    if (room === 0n) break;
    const amount = BigInt(r.int(1, Number(room < 5000n ? room : 5000n)));
    const shares = allocate(amount, left);
    const index = basketDiscounts.length;
    basketDiscounts.push({
      code: `COUPON${k}`,
      name: `Coupon ${k}`,
      amountMinor: amount,
      ratePpm: 0n,
    });
    shares.forEach((share, i) => {
      if (share === 0n) return;
      const line = lines[i] as LineInit;
      line.appliedDiscounts = [
        ...(line.appliedDiscounts ?? []),
        { discountIndex: index, amountMinor: share },
      ];
      left[i] = (left[i] ?? 0n) - share;
    });
  }

  // Taxes on each line's base (what is left), from their rates, rounded any way within ±1.
  lines.forEach((line, i) => {
    const base = left[i] ?? 0n;
    const taxes = taxesFor(plan.taxes, line.voided ? 0n : base, r);
    line.taxes = taxes;
    const added = taxes.filter((t) => t.mode === TaxMode.ADDITIVE);
    line.taxMinor =
      plan.taxes === "none" ? BigInt(r.int(0, 500)) : added.reduce((a, t) => a + t.amountMinor, 0n);
  });

  const serviceCharges = Array.from({ length: plan.charges }, (_, i) => {
    const amountMinor = BigInt(r.int(0, 5000));
    const chargeKind =
      kind === TransactionKind.SALE
        ? LineKind.SALE
        : kind === TransactionKind.RETURN
          ? LineKind.RETURN
          : r.pick([LineKind.SALE, LineKind.RETURN]);
    const plan2 = plan.taxes === "none" ? "none" : r.pick<TaxPlan>(["none", plan.taxes]);
    return {
      code: `FEE${i}`,
      name: `Fee ${i}`,
      amountMinor,
      kind: chargeKind,
      taxes: taxesFor(plan2, amountMinor, r),
    };
  });

  const body = { lineItems: lines, serviceCharges, lineRounding };
  const due = computeTotals(body as Parameters<typeof computeTotals>[0]).totalMinor;
  const { payments, cashRounding, roundingMinor } = paymentsFor(due, plan.cashRounding, r);
  const occurredMs = V2_NOW_MS - r.int(60, 5 * 365 * 86_400) * 1000;
  const utcDay = Math.floor(occurredMs / 86_400_000);
  const businessDay = new Date((utcDay + r.int(-2, 1)) * 86_400_000).toISOString().slice(0, 10);

  const init = {
    saleId: `S-${plan.seed >>> 0}`,
    locationId: "store-1",
    registerId: "till-1",
    source: "acme-pos",
    occurredAt: timestampFromMs(occurredMs),
    currency: r.pick(CURRENCIES),
    kind: postVoid ? TransactionKind.POST_VOID : plan.kind,
    ...(hasOriginal
      ? {
          original: {
            saleId: `O-${plan.seed >>> 0}`,
            kind: postVoid
              ? kind
              : r.pick([
                  TransactionKind.UNSPECIFIED,
                  TransactionKind.SALE,
                  TransactionKind.EXCHANGE,
                ]),
          },
        }
      : {}),
    businessDay: r.chance(0.7) ? businessDay : "",
    cashierId: r.chance(0.5) ? `cashier-${r.int(1, 99)}` : "",
    basketDiscounts,
    ...body,
    payments,
    ...(cashRounding ? { cashRounding } : {}),
    // Read by computeTotals only when the rounding rule is the POS's own.
    totals: { roundingMinor },
  };
  const sale = create(SaleSchema, init as MessageInitShape<typeof SaleSchema>);
  sale.totals = create(SaleSchema, { totals: computeTotals(sale) }).totals;
  return sale;
}

function taxesFor(plan: TaxPlan, base: bigint, r: Random): TaxInit[] {
  if (plan === "none") return [];
  const modes =
    plan === "both"
      ? [TaxMode.INCLUSIVE, TaxMode.ADDITIVE]
      : plan === "added"
        ? Array.from({ length: r.int(1, 3) }, () => TaxMode.ADDITIVE)
        : plan === "included"
          ? Array.from({ length: r.int(1, 2) }, () => TaxMode.INCLUSIVE)
          : [r.pick([TaxMode.INCLUSIVE, TaxMode.ADDITIVE])];
  const rates = modes.map(() =>
    plan === "unstated" ? 0n : BigInt(r.pick([25_000, 70_000, 190_000, r.int(1, 300_000)])),
  );
  const inclusiveRates = rates.reduce(
    (a, rate, i) => (modes[i] === TaxMode.INCLUSIVE ? a + rate : a),
    0n,
  );
  const within = () => r.pick([RoundingRule.HALF_UP, RoundingRule.DOWN, RoundingRule.UP]);
  const taxes: TaxInit[] = [];
  let included = 0n;
  modes.forEach((mode, i) => {
    if (mode !== TaxMode.INCLUSIVE) return;
    const rate = rates[i] ?? 0n;
    const amount =
      rate === 0n
        ? BigInt(r.int(0, Number(base / 10n)))
        : roundDiv(base * rate, PPM + inclusiveRates, within());
    included += amount;
    taxes.push({ code: `INC${i}`, ratePpm: rate, amountMinor: amount, mode });
  });
  if (included > base) return taxesFor("added", base, r); // rounding up pushed them past the base
  const net = base - included;
  modes.forEach((mode, i) => {
    if (mode !== TaxMode.ADDITIVE) return;
    const rate = rates[i] ?? 0n;
    const amount =
      rate === 0n
        ? net === 0n
          ? 0n
          : BigInt(r.int(0, 1000))
        : roundDiv(net * rate, PPM, within());
    taxes.push({ code: `ADD${i}`, ratePpm: rate, amountMinor: amount, mode });
  });
  return taxes;
}

/**
 * Tenders that settle `due` (paid when positive, refunded when negative), a card part and a cash
 * part, with cash rounding on the cash part; returns the adjustment too.
 */
function paymentsFor(due: bigint, rounding: boolean, r: Random) {
  const payments: MessageInitShape<typeof SaleSchema>["payments"] & object[] = [];
  if (due === 0n) return { payments, cashRounding: undefined, roundingMinor: 0n };
  const sign = due > 0n ? 1n : -1n;
  const magnitude = due * sign;
  const cardPart = r.chance(0.5) ? BigInt(r.int(0, Number(magnitude))) : magnitude;
  const cashDue = (magnitude - cardPart) * sign;
  let cashRounding: { incrementMinor: bigint; rule: RoundingRule } | undefined;
  let cash = cashDue;
  if (cashDue !== 0n && rounding) {
    const increment = BigInt(r.pick([5, 10, 25, 50, 100]));
    const rule = r.pick(RULES);
    const adjust = cashRound(
      cashDue,
      increment,
      rule === RoundingRule.UNSPECIFIED ? r.pick(RULES.slice(1)) : rule,
    );
    if (cashDue + adjust !== 0n) {
      cashRounding = { incrementMinor: increment, rule };
      cash = cashDue + adjust;
    }
  }
  if (cardPart !== 0n) {
    const refund = sign < 0n;
    payments.push({
      tenderType: r.pick([TenderType.CARD, TenderType.MOBILE_WALLET, TenderType.GIFT_CARD]),
      amountMinor: cardPart * sign,
      ...(!refund && r.chance(0.4) ? { tipMinor: BigInt(r.int(0, 2000)) } : {}),
      ...(r.chance(0.5) ? { cardBrand: "visa", cardLast4: "4242" } : {}),
    } as never);
  }
  if (cash !== 0n) {
    const change = cash > 0n && r.chance(0.5) ? BigInt(r.int(0, 5000)) : -1n;
    payments.push({
      tenderType: TenderType.CASH,
      amountMinor: cash,
      ...(change >= 0n ? { tenderedMinor: cash + change, changeMinor: change } : {}),
    } as never);
  }
  // Card brand only on card and wallet tenders; a gift card has none.
  for (const p of payments as {
    tenderType: TenderType;
    cardBrand?: string;
    cardLast4?: string;
  }[]) {
    if (p.tenderType === TenderType.GIFT_CARD) {
      delete p.cardBrand;
      delete p.cardLast4;
    }
  }
  return { payments, cashRounding, roundingMinor: cash - cashDue };
}

interface Random {
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, seeded, good enough to spread test values. */
function random(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    chance: (p) => next() < p,
  };
}
