import { RoundingRule, TaxMode, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { CellError } from "./cell-error.js";

/**
 * The value forms of the CSV columns (README, "Loading a backlog"): integers, decimals, times,
 * enums by their short names, and the small `a:b;c:d` lists of taxes, discounts and payments.
 * Each parser throws an Error naming the column, which the reader reports at the row's line.
 * They ignore spaces around a value (a padded number is still the number); text columns are
 * not parsed here and stay exactly as written.
 */

export const INT64_MAX = 2n ** 63n - 1n;

export function integer(raw: string, column: string): bigint {
  const value = raw.trim();
  const n = /^-?\d{1,19}$/.test(value) ? BigInt(value) : undefined;
  if (n === undefined || n > INT64_MAX || n < -INT64_MAX) {
    throw new CellError(column, `"${clip(value)}" is not a 64-bit integer`);
  }
  return n;
}

/** "2", "0.345", "-1.5" → thousandths; more than three decimals is an error, not a rounding. */
export function milli(raw: string, column: string): bigint {
  const value = raw.trim();
  const m = /^(-?)(\d{1,15})(?:\.(\d{1,3}))?$/.exec(value);
  if (!m) {
    throw new CellError(column, `"${clip(value)}" is not a number with at most 3 decimals`);
  }
  const n = BigInt(m[2] as string) * 1000n + BigInt((m[3] ?? "").padEnd(3, "0"));
  return m[1] ? -n : n;
}

/** Most decimal places a unit price may have beyond the currency's minor unit. */
export const MAX_UNIT_PRICE_SCALE = 6;

/**
 * A unit price in major units ("1.799" EUR) as the contract carries it: whole minor units when it
 * has no more decimals than the currency's exponent, else `scaled` × 10^-`scale` minor units
 * (179.9 cents: 1799, scale 1). Decimals are kept as written: "1.790" is 1790 at scale 1, the
 * precision a fuel pump states, and "1.79" is 179 minor units.
 */
export function unitPrice(
  raw: string,
  exponent: number,
): { unitPriceMinor: bigint; unitPriceScaled: bigint; unitPriceScale: number } {
  const value = raw.trim();
  const m = /^(\d{1,15})(?:\.(\d{1,12}))?$/.exec(value);
  if (!m) throw new CellError("unit_price", `"${clip(value)}" is not a non-negative decimal`);
  const fraction = m[2] ?? "";
  const scale = Math.max(0, fraction.length - exponent);
  if (scale > MAX_UNIT_PRICE_SCALE) {
    throw new CellError(
      "unit_price",
      `"${clip(value)}" has more than ${MAX_UNIT_PRICE_SCALE} decimals beyond the minor unit`,
    );
  }
  const digits = BigInt(`${m[1]}${fraction.padEnd(exponent + scale, "0")}`);
  return scale === 0
    ? { unitPriceMinor: digits, unitPriceScaled: 0n, unitPriceScale: 0 }
    : { unitPriceMinor: 0n, unitPriceScaled: digits, unitPriceScale: scale };
}

/** A rate in percent with up to four decimals ("19", "6.25", "8.875") → parts per million. */
export function ratePpm(raw: string, column: string): bigint {
  const value = raw.trim();
  const m = /^(\d{1,5})(?:\.(\d{1,4}))?$/.exec(value);
  if (!m)
    throw new CellError(
      column,
      `rate "${clip(value)}" is not a percentage with at most 4 decimals`,
    );
  return BigInt(m[1] as string) * 10_000n + BigInt((m[2] ?? "").padEnd(4, "0"));
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time with an explicit offset, to the nanosecond. No offset is an error, not local
 * time: the same file read in two time zones must give the same sales (and the same keys).
 */
export function timestamp(raw: string): { seconds: bigint; nanos: number } {
  const value = raw.trim();
  const m = RFC3339.exec(value);
  const bad = () =>
    new CellError("occurred_at", `"${clip(value)}" is not an RFC 3339 time with an offset`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  // Date.UTC rolls 30 February over into March; a real date survives the round trip.
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw bad();
  }
  const offsetMinutes = m[8] ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const nanos = Number((m[7] ?? "").padEnd(9, "0"));
  return { seconds: BigInt(ms / 1000 - offsetMinutes * 60), nanos };
}

/** One of `names` (lowercase, as in the README), or `fallback` for an empty cell. */
export function choice<T>(raw: string, column: string, names: Record<string, T>, fallback: T): T {
  const value = raw.trim();
  if (value === "") return fallback;
  const found = names[value.toLowerCase()];
  if (found === undefined) {
    throw new CellError(column, `"${clip(value)}" is not one of ${Object.keys(names).join(", ")}`);
  }
  return found;
}

export const ROUNDING_RULES: Record<string, RoundingRule> = {
  half_up: RoundingRule.HALF_UP,
  half_even: RoundingRule.HALF_EVEN,
  down: RoundingRule.DOWN,
  up: RoundingRule.UP,
};

/** "true"/"false" (or "1"/"0"), empty meaning false. */
export function flag(value: string, column: string): boolean {
  return choice(value, column, { true: true, false: false, "1": true, "0": false }, false);
}

/** Splits `a:b;c:d` into trimmed parts; an empty cell is an empty list. */
function entries(value: string): string[][] {
  if (value === "") return [];
  return value.split(";").map((part) => part.split(":").map((s) => s.trim()));
}

export interface TaxCell {
  code: string;
  mode: TaxMode;
  ratePpm: bigint;
  amountMinor: bigint;
}

/** `DE-VAT19:incl:19:55;US-IL-STATE:add:6.25:136`: code, incl/add, rate in %, amount. */
export function taxes(value: string, column: string): TaxCell[] {
  return entries(value).map((parts) => {
    const [code = "", mode = "", rate = "", amount = ""] = parts;
    if (parts.length !== 4 || code === "") {
      throw new CellError(column, `"${clip(parts.join(":"))}" is not code:incl|add:rate:amount`);
    }
    return {
      code,
      mode: choice(
        mode,
        column,
        { incl: TaxMode.INCLUSIVE, add: TaxMode.ADDITIVE },
        TaxMode.UNSPECIFIED,
      ),
      ratePpm: ratePpm(rate, column),
      amountMinor: integer(amount, `${column} amount`),
    };
  });
}

/** `COUPON3:300;STAFF:150`: code and amount in minor units. */
export function codeAmounts(
  value: string,
  column: string,
): { code: string; amountMinor: bigint }[] {
  return entries(value).map((parts) => {
    const [code = "", amount = ""] = parts;
    if (parts.length !== 2 || code === "") {
      throw new CellError(column, `"${clip(parts.join(":"))}" is not code:amount`);
    }
    return { code, amountMinor: integer(amount, `${column} amount`) };
  });
}

/** `COUPON10:300:10;STAFF:150`: code, amount in minor units, and the advertised rate in %. */
export function basketDiscounts(
  value: string,
): { code: string; amountMinor: bigint; ratePpm: bigint }[] {
  return entries(value).map((parts) => {
    const [code = "", amount = "", rate = ""] = parts;
    if (parts.length < 2 || parts.length > 3 || code === "") {
      throw new CellError(
        "basket_discounts",
        `"${clip(parts.join(":"))}" is not code:amount[:rate]`,
      );
    }
    return {
      code,
      amountMinor: integer(amount, "basket_discounts amount"),
      ratePpm: rate === "" ? 0n : ratePpm(rate, "basket_discounts"),
    };
  });
}

export interface PaymentCell {
  tenderType: TenderType;
  amountMinor: bigint;
  tipMinor: bigint;
  tenderedMinor: bigint;
  changeMinor: bigint;
  cardBrand: string;
  cardLast4: string;
}

/**
 * `CARD:3156:tip=500:brand=visa:last4=4242;CASH:1395:tendered=2000:change=605`: tender
 * (TenderType without its prefix), amount (negative for a refund), then options.
 */
export function payments(value: string): PaymentCell[] {
  return entries(value).map(([tender = "", amount = "", ...options]) => {
    const tenderType = TenderType[tender.toUpperCase() as keyof typeof TenderType];
    if (typeof tenderType !== "number" || tenderType === TenderType.UNSPECIFIED) {
      throw new CellError("payments", `unknown tender "${clip(tender)}"`);
    }
    const p: PaymentCell = {
      tenderType,
      amountMinor: integer(amount, "payments amount"),
      tipMinor: 0n,
      tenderedMinor: 0n,
      changeMinor: 0n,
      cardBrand: "",
      cardLast4: "",
    };
    for (const option of options) {
      const [name = "", v = ""] = option.split("=").map((s) => s.trim());
      if (name === "tip") p.tipMinor = integer(v, "payments tip");
      else if (name === "tendered") p.tenderedMinor = integer(v, "payments tendered");
      else if (name === "change") p.changeMinor = integer(v, "payments change");
      else if (name === "brand") p.cardBrand = v;
      else if (name === "last4") p.cardLast4 = v;
      else {
        throw new CellError(
          "payments",
          `unknown option "${clip(option)}" (tip=, tendered=, change=, brand=, last4=)`,
        );
      }
    }
    return p;
  });
}

export function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
