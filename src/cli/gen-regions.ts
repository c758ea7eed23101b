import { TaxMode } from "../../gen/pos/ingest/v1/sale_pb.js";

/**
 * The stores gen-sales invents: six tax regimes a retail chain meets (VAT included in Germany,
 * the UK, Switzerland and Japan; US sales tax added on top, state and city; no tax in Kuwait),
 * each with its currency's own minor unit (ISO 4217: JPY 0, KWD 3) and local time zone.
 */

/** One tax a region levies on a product class. */
export interface RegionTax {
  readonly code: string;
  readonly name: string;
  readonly ratePpm: bigint;
  readonly mode: TaxMode;
}

export interface Region {
  readonly country: string;
  readonly currency: string;
  /** Prices here are the catalogue's (cents) times this fraction, in the currency's minor units. */
  readonly priceScale: readonly [bigint, bigint];
  /** Hours east of UTC (winter time), for the business day. */
  readonly utcOffsetHours: number;
  /** Taxes on food and on everything else. */
  readonly food: readonly RegionTax[];
  readonly general: readonly RegionTax[];
  /** Cash amounts are multiples of this (CHF 0.05); absent: exact cash. */
  readonly cashIncrement?: bigint;
  /** A fee on some transactions: a bag (US, untaxed) or delivery (DE, taxed as general). */
  readonly fee?: {
    readonly code: string;
    readonly name: string;
    /** In minor units. */
    readonly amount: bigint;
    /** The share of sales that carry it. */
    readonly share: number;
    readonly taxed: boolean;
  };
  /** Banknotes cash is tendered in, in minor units, smallest first. */
  readonly notes: readonly bigint[];
}

const incl = (code: string, name: string, percentPpm: number): RegionTax => ({
  code,
  name,
  ratePpm: BigInt(percentPpm),
  mode: TaxMode.INCLUSIVE,
});
const added = (code: string, name: string, percentPpm: number): RegionTax => ({
  code,
  name,
  ratePpm: BigInt(percentPpm),
  mode: TaxMode.ADDITIVE,
});

export const REGIONS: readonly Region[] = [
  {
    country: "DE",
    currency: "EUR",
    priceScale: [1n, 1n],
    utcOffsetHours: 1,
    food: [incl("DE-VAT7", "MwSt 7%", 70_000)],
    general: [incl("DE-VAT19", "MwSt 19%", 190_000)],
    fee: { code: "DELIVERY", name: "Lieferung", amount: 390n, share: 0.02, taxed: true },
    notes: [500n, 1000n, 2000n, 5000n, 10000n],
  },
  {
    country: "GB",
    currency: "GBP",
    priceScale: [1n, 1n],
    utcOffsetHours: 0,
    food: [incl("GB-VAT0", "VAT 0%", 0)],
    general: [incl("GB-VAT20", "VAT 20%", 200_000)],
    notes: [500n, 1000n, 2000n, 5000n],
  },
  {
    country: "US",
    currency: "USD",
    priceScale: [1n, 1n],
    utcOffsetHours: -6,
    food: [added("US-IL-STATE-FOOD", "IL food 1%", 10_000)],
    general: [
      added("US-IL-STATE", "IL state 6.25%", 62_500),
      added("US-IL-CHI", "Chicago 2.25%", 22_500),
    ],
    fee: { code: "BAG", name: "Bag fee", amount: 10n, share: 0.3, taxed: false },
    notes: [100n, 500n, 1000n, 2000n, 5000n, 10000n],
  },
  {
    country: "CH",
    currency: "CHF",
    priceScale: [1n, 1n],
    utcOffsetHours: 1,
    food: [incl("CH-VAT2.6", "MWST 2.6%", 26_000)],
    general: [incl("CH-VAT8.1", "MWST 8.1%", 81_000)],
    cashIncrement: 5n,
    notes: [1000n, 2000n, 5000n, 10000n],
  },
  {
    country: "JP",
    currency: "JPY",
    priceScale: [3n, 2n],
    utcOffsetHours: 9,
    food: [incl("JP-CT8", "消費税 8%", 80_000)],
    general: [incl("JP-CT10", "消費税 10%", 100_000)],
    notes: [1000n, 5000n, 10000n],
  },
  {
    country: "KW",
    currency: "KWD",
    priceScale: [3n, 1n],
    utcOffsetHours: 3,
    food: [],
    general: [],
    notes: [1000n, 5000n, 10000n, 20000n],
  },
];

/** A product: price in cents (scaled to each currency by `Region.priceScale`), weighed or not. */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly centsOfMajor: bigint;
  readonly weighed: boolean;
  readonly food: boolean;
}

/** A café-bakery-grocery catalogue with weighed goods (quantity in kg) and a few non-food lines. */
export const PRODUCTS: readonly Product[] = [
  { sku: "CAF-ESP", name: "Espresso", centsOfMajor: 250n, weighed: false, food: true },
  { sku: "CAF-CAP", name: "Cappuccino", centsOfMajor: 380n, weighed: false, food: true },
  { sku: "CAF-LAT", name: "Oat latte", centsOfMajor: 450n, weighed: false, food: true },
  { sku: "BAK-CRO", name: "Butter croissant", centsOfMajor: 320n, weighed: false, food: true },
  { sku: "BAK-SOU", name: "Sourdough loaf", centsOfMajor: 590n, weighed: false, food: true },
  { sku: "GRO-APL", name: "Apples (kg)", centsOfMajor: 349n, weighed: true, food: true },
  { sku: "GRO-CHE", name: "Comté 18 months (kg)", centsOfMajor: 2890n, weighed: true, food: true },
  { sku: "GRO-MLK", name: "Whole milk 1 l", centsOfMajor: 129n, weighed: false, food: true },
  { sku: "HOM-MUG", name: "Stoneware mug", centsOfMajor: 850n, weighed: false, food: false },
  { sku: "HOM-TEE", name: "Logo T-shirt", centsOfMajor: 1200n, weighed: false, food: false },
  { sku: "HOM-CAN", name: "Scented candle", centsOfMajor: 1499n, weighed: false, food: false },
];

/** Fuel, priced finer than a cent ($3.199 a gallon), sold at some US stores. */
export const FUEL = {
  sku: "FUEL-REG",
  name: "Regular unleaded (gal)",
  tenthsOfCent: 3199n,
} as const;
