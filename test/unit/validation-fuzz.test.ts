import { isDeepStrictEqual } from "node:util";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type LineItemSchema,
  type Sale,
  SaleSchema,
  TenderType,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { ISO4217 } from "../../src/contract/iso4217.js";
import { canonicalSaleBytes, fingerprintSale } from "../../src/ingest/canonical.js";
import {
  MAX_AMOUNT_MINOR,
  MAX_ATTRIBUTES,
  MAX_PAYMENTS,
  MAX_QUANTITY_MILLI,
  MIN_OCCURRED_AT_SECONDS,
  type ValidationLimits,
  validateSale,
} from "../../src/ingest/validation.js";

// Property tests: hostile sales never make validation throw, sales built to the contract in
// proto/pos/ingest/v1/sale.proto always pass, and a sale's fingerprint does not depend on how it
// was encoded. Runs are bounded so the file stays well under ten seconds.

type SaleInit = MessageInitShape<typeof SaleSchema>;
type LineInit = MessageInitShape<typeof LineItemSchema>;

/** A fixed, whole-second "now", so time rules behave the same on every run. */
const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW_SECONDS = BigInt(NOW_MS / 1000);
const LIMITS: ValidationLimits = { maxLineItems: 500, maxFutureSkewSeconds: 300 };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Violations are capped in validation.ts; a longer list would mean the cap broke. */
const MAX_VIOLATIONS = 20;
const FIELD_PATH = /^sale(?:$|[.[])/;

const RUNS = { numRuns: 200 };

// ---------------------------------------------------------------------------------------------
// Hostile values

const controlChar = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\t",
  "\n",
  "\r",
  "\u001b",
  "\u007f",
  "\u0080",
  "\u0085",
  "\u009f",
);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const oddChar = fc.constantFrom("a", "é", "😀", "\u200b", "\ufeff", "\u2028", "@", " ", "\ufffd");

/** Strings a careless or malicious client might send: control characters, broken UTF-16, huge. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.string({ unit: fc.oneof(controlChar, loneSurrogate, oddChar), maxLength: 20 }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "a".repeat(64),
      "a".repeat(65),
      "a".repeat(128),
      "a".repeat(129),
      "😀".repeat(64),
      "😀".repeat(65),
      "x".repeat(1024),
      "x".repeat(1025),
      "y".repeat(100_000),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
        fc.integer({ min: 20, max: 3000 }),
      )
      .map(([s, n]) => s.repeat(n)),
  },
);

/** int64 and well beyond it: both signs, the int64 edges, the validation edges. */
const hostileInt64: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(
    0n,
    1n,
    -1n,
    499n,
    500n,
    999n,
    1000n,
    1001n,
    MAX_AMOUNT_MINOR,
    MAX_AMOUNT_MINOR + 1n,
    MAX_QUANTITY_MILLI,
    MAX_QUANTITY_MILLI + 1n,
    INT64_MAX,
    INT64_MIN,
    INT64_MAX + 1n,
    INT64_MIN - 1n,
    2n ** 64n - 1n,
    2n ** 64n,
    -(2n ** 64n),
    2n ** 200n,
  ),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.bigInt({ min: -10n, max: 100_000n }),
);

/** Enum values as a decoder might hand them over, and some no decoder would. */
const hostileEnum: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -2, max: 8 }),
  fc.integer(),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.NaN, 1.5, -0, Number.POSITIVE_INFINITY),
);

const hostileTimestamp = fc.option(
  fc.record({
    seconds: fc.oneof(
      hostileInt64,
      fc.bigInt({ min: MIN_OCCURRED_AT_SECONDS - 5n, max: NOW_SECONDS + 400n }),
    ),
    nanos: fc.oneof(
      fc.integer(),
      fc.constantFrom(-1, 0, 999_999_999, 1_000_000_000, 2 ** 31, Number.NaN),
    ),
  }),
  { nil: undefined },
);

const hostileLine: fc.Arbitrary<LineInit> = fc.record({
  sku: hostileString,
  name: hostileString,
  quantityMilli: hostileInt64,
  unitPriceMinor: hostileInt64,
  discountMinor: hostileInt64,
  taxMinor: hostileInt64,
});

/** Few items, or one item repeated up to past the line limit. */
function fewOrMany<T>(item: fc.Arbitrary<T>, many: number): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(item, { maxLength: 8 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(item, fc.integer({ min: 0, max: many }))
        .map(([x, n]) => Array.from({ length: n }, () => x)),
    },
  );
}

const hostileAttributes: fc.Arbitrary<Record<string, string>> = fc
  .oneof(
    { weight: 6, arbitrary: fc.array(fc.tuple(hostileString, hostileString), { maxLength: 8 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: MAX_ATTRIBUTES - 2, max: MAX_ATTRIBUTES + 6 }), hostileString)
        .map(([n, value]) =>
          Array.from({ length: n }, (_, i): [string, string] => [`k${i}`, value]),
        ),
    },
  )
  .map((entries) => Object.fromEntries(entries));

const hostileSale: fc.Arbitrary<Sale> = fc
  .record({
    saleId: hostileString,
    locationId: hostileString,
    registerId: hostileString,
    source: fc.oneof(hostileString, fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,70}$/)),
    occurredAt: hostileTimestamp,
    currency: fc.oneof(hostileString, fc.constantFrom("EUR", "eur", "XXX", "ZZZ", "EU", "EURO")),
    lineItems: fewOrMany(hostileLine, 700),
    payments: fewOrMany(
      fc.record({ tenderType: hostileEnum, amountMinor: hostileInt64 }),
      MAX_PAYMENTS + 20,
    ),
    totals: fc.option(
      fc.record({
        subtotalMinor: hostileInt64,
        discountMinor: hostileInt64,
        taxMinor: hostileInt64,
        totalMinor: hostileInt64,
      }),
      { nil: undefined },
    ),
    customer: fc.option(
      fc.record({
        customerId: hostileString,
        name: hostileString,
        email: fc.oneof(hostileString, fc.constantFrom("a@b", "@", "a@", "a b@c", "a@b@c")),
        phone: hostileString,
      }),
      { nil: undefined },
    ),
    attributes: hostileAttributes,
  })
  .map((init) => create(SaleSchema, init as SaleInit));

// ---------------------------------------------------------------------------------------------
// Valid sales, built to the contract rather than by the code under test

/** Characters allowed in ids and names: no C0/C1 controls or DEL; lone surrogates included. */
const textChar = fc
  .oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xffff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }) },
  )
  .map((cp) => (cp > 0xffff ? String.fromCodePoint(cp) : String.fromCharCode(cp)));

/** Text of `min`..`max` UTF-16 units without control characters, often exactly at the edges. */
function validText(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    // A unit may be two UTF-16 code units, so half the limit is always within it.
    { weight: 6, arbitrary: fc.string({ unit: textChar, minLength: min, maxLength: max / 2 }) },
    { weight: 1, arbitrary: fc.constant("z".repeat(max)) },
    ...(min > 0 ? [{ weight: 1, arbitrary: fc.constant("z".repeat(min)) }] : []),
    {
      weight: 1,
      arbitrary: fc.string({
        unit: "grapheme-ascii",
        minLength: Math.max(min, max - 2),
        maxLength: max,
      }),
    },
  );
}

const emailPart = fc.string({
  unit: fc.constantFrom(..."abcxyzABC019.-_+%é中ü!#"),
  minLength: 1,
  maxLength: 60,
});
const validEmail = fc.oneof(
  fc.constant(""),
  fc.tuple(emailPart, emailPart).map(([local, domain]) => `${local}@${domain}`),
);

// The currencies the contract accepts: ISO 4217 with a minor unit (not Intl's CLDR list).
const CURRENCIES = Object.keys(ISO4217);
const TENDERS = [
  TenderType.CASH,
  TenderType.CARD,
  TenderType.GIFT_CARD,
  TenderType.MOBILE_WALLET,
  TenderType.STORE_CREDIT,
  TenderType.OTHER,
];

/** round_half_up(price * quantity_milli / 1000), as the contract states it. */
function lineAmount(unitPriceMinor: bigint, quantityMilli: bigint): bigint {
  const product = unitPriceMinor * quantityMilli;
  const whole = product / 1000n;
  return product % 1000n >= 500n ? whole + 1n : whole;
}

const skuText = validText(1, 128);
const nameText = validText(0, 256);

/**
 * A valid line whose amount stays under `amountLimit` (so the sums fit int64, as encoded totals
 * must) and whose net amount (amount - discount) and tax each stay under `cap`, so that up to
 * MAX_PAYMENTS payments of at most MAX_AMOUNT_MINOR can always settle the sale.
 */
function validLine(cap: bigint, amountLimit: bigint): fc.Arbitrary<LineInit> {
  const price = fc.oneof(
    fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR }),
    fc.bigInt({ min: 0n, max: 10_000n }),
  );
  return fc
    .tuple(skuText, nameText, price)
    .chain(([sku, name, unitPriceMinor]) => {
      const byAmount =
        unitPriceMinor === 0n ? MAX_QUANTITY_MILLI : (amountLimit * 1000n) / unitPriceMinor;
      const maxQuantity = byAmount < MAX_QUANTITY_MILLI ? byAmount : MAX_QUANTITY_MILLI;
      const quantity = fc.oneof(
        fc.bigInt({ min: 1n, max: maxQuantity }),
        fc.bigInt({ min: 1n, max: maxQuantity < 5000n ? maxQuantity : 5000n }),
      );
      return fc.tuple(fc.constant([sku, name, unitPriceMinor] as const), quantity);
    })
    .chain(([[sku, name, unitPriceMinor], quantityMilli]) => {
      const amount = lineAmount(unitPriceMinor, quantityMilli);
      const minDiscount = amount > cap ? amount - cap : 0n;
      const maxTax = cap < MAX_AMOUNT_MINOR ? cap : MAX_AMOUNT_MINOR;
      return fc.record({
        sku: fc.constant(sku),
        name: fc.constant(name),
        quantityMilli: fc.constant(quantityMilli),
        unitPriceMinor: fc.constant(unitPriceMinor),
        discountMinor: fc.bigInt({ min: minDiscount, max: amount }),
        taxMinor: fc.bigInt({ min: 0n, max: maxTax }),
      });
    });
}

/** `total` split into `count` payments of 1..MAX_AMOUNT_MINOR, then moved around unevenly. */
function splitPayments(total: bigint, count: number, moves: [number, number, bigint][]): bigint[] {
  const n = BigInt(count);
  const amounts = Array.from(
    { length: count },
    (_, i) => total / n + (BigInt(i) < total % n ? 1n : 0n),
  );
  for (const [from, to, want] of moves) {
    const i = from % count;
    const j = to % count;
    const a = amounts[i] as bigint;
    const b = amounts[j] as bigint;
    let x = want;
    if (x > a - 1n) x = a - 1n;
    if (x > MAX_AMOUNT_MINOR - b) x = MAX_AMOUNT_MINOR - b;
    if (i === j || x <= 0n) continue;
    amounts[i] = a - x;
    amounts[j] = b + x;
  }
  return amounts;
}

/** `lineCount` valid lines; up to 12 distinct ones, repeated, so long sales stay cheap. */
function validLines(maxLines: number): fc.Arbitrary<LineInit[]> {
  return fc
    .oneof(
      { weight: 9, arbitrary: fc.integer({ min: 1, max: Math.min(12, maxLines) }) },
      { weight: 1, arbitrary: fc.integer({ min: Math.min(13, maxLines), max: maxLines }) },
    )
    .chain((lineCount) => {
      // Per-line budget: lineCount lines of net + tax stay within MAX_PAYMENTS full payments.
      const cap = (MAX_AMOUNT_MINOR * BigInt(MAX_PAYMENTS)) / 2n / BigInt(lineCount);
      const amountLimit = INT64_MAX / BigInt(lineCount);
      const distinct = Math.min(lineCount, 12);
      return fc
        .array(validLine(cap, amountLimit), { minLength: distinct, maxLength: distinct })
        .map((lines) =>
          Array.from({ length: lineCount }, (_, i) => lines[i % distinct] as LineInit),
        );
    });
}

/** Payments of known tenders, each 1..MAX_AMOUNT_MINOR, that add up to `total`. */
function validPayments(total: bigint) {
  if (total === 0n) return fc.constant([]);
  const minPayments = Number((total + MAX_AMOUNT_MINOR - 1n) / MAX_AMOUNT_MINOR);
  const maxPayments = total < BigInt(MAX_PAYMENTS) ? Number(total) : MAX_PAYMENTS;
  return fc
    .tuple(
      fc.integer({ min: minPayments, max: maxPayments }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR })), {
        maxLength: 5,
      }),
      fc.array(fc.constantFrom(...TENDERS), { minLength: MAX_PAYMENTS, maxLength: MAX_PAYMENTS }),
    )
    .map(([count, moves, tenders]) =>
      splitPayments(total, count, moves).map((amountMinor, i) => ({
        tenderType: tenders[i] as TenderType,
        amountMinor,
      })),
    );
}

/** The fields that do not depend on the lines (built once: building arbitraries is costly). */
const validHeader = fc.record({
  saleId: validText(1, 128),
  locationId: validText(1, 128),
  registerId: validText(1, 128),
  source: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  occurredAt: fc.record({
    seconds: fc.bigInt({
      min: MIN_OCCURRED_AT_SECONDS,
      max: NOW_SECONDS + BigInt(LIMITS.maxFutureSkewSeconds),
    }),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
  }),
  currency: fc.constantFrom(...CURRENCIES),
  customer: fc.option(
    fc.record({
      customerId: validText(0, 128),
      name: validText(0, 256),
      email: validEmail,
      phone: validText(0, 64),
    }),
    { nil: undefined },
  ),
  attributes: fc
    .uniqueArray(fc.tuple(validText(1, 64), validText(0, 1024)), {
      maxLength: 8,
      selector: ([k]) => k,
    })
    // `__proto__` cannot be a key of the plain object protobuf-es uses for a map.
    .map((entries) => Object.fromEntries(entries.filter(([k]) => k !== "__proto__"))),
});

/** Valid sales of up to `maxLines` lines. */
function validSaleOf(maxLines: number): fc.Arbitrary<Sale> {
  return fc.tuple(validHeader, validLines(maxLines)).chain(([header, lineItems]) => {
    let subtotal = 0n;
    let discount = 0n;
    let tax = 0n;
    for (const l of lineItems) {
      subtotal += lineAmount(l.unitPriceMinor ?? 0n, l.quantityMilli ?? 0n);
      discount += l.discountMinor ?? 0n;
      tax += l.taxMinor ?? 0n;
    }
    const total = subtotal - discount + tax;
    const totals = {
      subtotalMinor: subtotal,
      discountMinor: discount,
      taxMinor: tax,
      totalMinor: total,
    };
    return validPayments(total).map((payments) =>
      create(SaleSchema, { ...header, lineItems, payments, totals } as SaleInit),
    );
  });
}

const validSale = validSaleOf(LIMITS.maxLineItems);

// ---------------------------------------------------------------------------------------------

const lineInt64Keys = ["quantityMilli", "unitPriceMinor", "discountMinor", "taxMinor"] as const;
type LineInt64Key = (typeof lineInt64Keys)[number];
const totalsKeys = ["subtotalMinor", "discountMinor", "taxMinor", "totalMinor"] as const;
const saleStringKeys = ["saleId", "locationId", "registerId", "source", "currency"] as const;

/**
 * A deep copy. protobuf-es' `clone` checks every field, and hostile sales hold values it refuses
 * (lone surrogates, enums beyond int32); a structured clone copies them as they are.
 */
function copyOf(sale: Sale): Sale {
  return structuredClone(sale);
}

function fieldsOf(sale: Sale | undefined): string[] {
  return validateSale(sale, LIMITS, NOW_MS).map((v) => v.field);
}

describe("validateSale on hostile input", () => {
  it("never throws, and names only sale fields, at most 20 of them", () => {
    fc.assert(
      fc.property(hostileSale, (sale) => {
        const before = copyOf(sale);
        const violations = validateSale(sale, LIMITS, NOW_MS);
        expect(violations.length).toBeLessThanOrEqual(MAX_VIOLATIONS);
        for (const v of violations) {
          expect(v.field).toMatch(FIELD_PATH);
          expect(typeof v.description).toBe("string");
          expect(v.description.length).toBeGreaterThan(0);
        }
        // Deterministic, and the sale is only read.
        expect(validateSale(sale, LIMITS, NOW_MS)).toEqual(violations);
        expect(isDeepStrictEqual(sale, before)).toBe(true);
      }),
      RUNS,
    );
  });

  it("answers a missing sale with one violation on `sale`", () => {
    expect(validateSale(undefined, LIMITS, NOW_MS)).toEqual([
      { field: "sale", description: "is required" },
    ]);
  });

  it("never throws when one field of a valid sale is replaced by a hostile value", () => {
    const edit = fc.oneof(
      fc.record({ line: fc.nat(), key: fc.constantFrom(...lineInt64Keys), value: hostileInt64 }),
      fc.record({ line: fc.nat(), key: fc.constantFrom("sku", "name"), value: hostileString }),
      fc.record({ payment: fc.nat(), tenderType: hostileEnum, amountMinor: hostileInt64 }),
      fc.record({ totalsKey: fc.constantFrom(...totalsKeys), value: hostileInt64 }),
      fc.record({ saleKey: fc.constantFrom(...saleStringKeys), value: hostileString }),
      fc.record({ occurredAt: hostileTimestamp }),
    );
    fc.assert(
      fc.property(validSale, edit, (valid, e) => {
        const sale = copyOf(valid);
        if ("line" in e) {
          const line = sale.lineItems[e.line % sale.lineItems.length];
          if (line && typeof e.value === "bigint") line[e.key as LineInt64Key] = e.value;
          else if (line && typeof e.value === "string") line[e.key as "sku" | "name"] = e.value;
        } else if ("payment" in e) {
          const p = sale.payments[e.payment % Math.max(1, sale.payments.length)];
          if (p) {
            p.tenderType = e.tenderType as TenderType;
            p.amountMinor = e.amountMinor;
          }
        } else if ("totalsKey" in e && sale.totals) {
          sale.totals[e.totalsKey] = e.value;
        } else if ("saleKey" in e) {
          sale[e.saleKey] = e.value;
        } else if ("occurredAt" in e) {
          sale.occurredAt =
            e.occurredAt && create(SaleSchema, { occurredAt: e.occurredAt }).occurredAt;
        }
        for (const v of validateSale(sale, LIMITS, NOW_MS)) expect(v.field).toMatch(FIELD_PATH);
      }),
      RUNS,
    );
  });
});

describe("validateSale on valid sales", () => {
  it("accepts every sale whose fields and totals follow the contract", () => {
    fc.assert(
      fc.property(validSale, (sale) => {
        expect(validateSale(sale, LIMITS, NOW_MS)).toEqual([]);
      }),
      RUNS,
    );
  });

  it("names exactly the total when it disagrees with subtotal - discount + tax", () => {
    const delta = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).filter((d) => d !== 0n);
    fc.assert(
      fc.property(validSale, delta, (valid, d) => {
        const sale = copyOf(valid);
        (sale.totals as NonNullable<Sale["totals"]>).totalMinor += d;
        expect(fieldsOf(sale)).toEqual(["sale.totals.total_minor"]);
      }),
      RUNS,
    );
  });

  it("names exactly the payments when their sum disagrees with the total", () => {
    const withPayment = validSale.filter((s) => s.payments.length > 0);
    fc.assert(
      fc.property(
        withPayment,
        fc.nat(),
        fc.bigInt({ min: 1n, max: MAX_AMOUNT_MINOR }),
        (valid, i, to) => {
          const sale = copyOf(valid);
          const p = sale.payments[i % sale.payments.length];
          fc.pre(p !== undefined && p.amountMinor !== to);
          (p as (typeof sale.payments)[number]).amountMinor = to;
          expect(fieldsOf(sale)).toEqual(["sale.payments"]);
        },
      ),
      RUNS,
    );
  });

  it("names exactly the id that contains a control character", () => {
    fc.assert(
      fc.property(validSale, controlChar, fc.nat(), (valid, c, at) => {
        const sale = copyOf(valid);
        const id = sale.saleId.slice(0, 127);
        const i = at % (id.length + 1);
        sale.saleId = id.slice(0, i) + c + id.slice(i);
        expect(fieldsOf(sale)).toEqual(["sale.sale_id"]);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Fingerprints

const encodableInt64 = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n),
);
/**
 * Well-formed strings only: a decoded sale never holds a lone surrogate (UTF-8 has no way to
 * carry one), and two keys that differ only in one would encode to the same bytes.
 */
const encodableString = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: fc.oneof(controlChar, loneSurrogate, oddChar), maxLength: 10 }),
  )
  .map((s) => Buffer.from(s, "utf8").toString("utf8"));

/** Any sale protobuf can encode (valid or not): int64 and int32 in range, any strings. */
const encodableSale: fc.Arbitrary<Sale> = fc
  .record({
    saleId: encodableString,
    locationId: encodableString,
    registerId: encodableString,
    source: encodableString,
    occurredAt: fc.option(fc.record({ seconds: encodableInt64, nanos: fc.integer() }), {
      nil: undefined,
    }),
    currency: encodableString,
    lineItems: fc.array(
      fc.record({
        sku: encodableString,
        name: encodableString,
        quantityMilli: encodableInt64,
        unitPriceMinor: encodableInt64,
        discountMinor: encodableInt64,
        taxMinor: encodableInt64,
      }),
      { maxLength: 5 },
    ),
    payments: fc.array(fc.record({ tenderType: fc.integer(), amountMinor: encodableInt64 }), {
      maxLength: 5,
    }),
    totals: fc.option(
      fc.record({
        subtotalMinor: encodableInt64,
        discountMinor: encodableInt64,
        taxMinor: encodableInt64,
        totalMinor: encodableInt64,
      }),
      { nil: undefined },
    ),
    customer: fc.option(
      fc.record({
        customerId: encodableString,
        name: encodableString,
        email: encodableString,
        phone: encodableString,
      }),
      { nil: undefined },
    ),
    attributes: fc
      .uniqueArray(fc.tuple(encodableString, encodableString), {
        maxLength: 8,
        selector: ([k]) => k,
      })
      .map((entries) => Object.fromEntries(entries.filter(([k]) => k !== "__proto__"))),
  })
  .map((init) => create(SaleSchema, init as SaleInit));

/** Whether any string in `value` (a field or a map key) starts with U+FEFF. */
function hasLeadingBom(value: unknown): boolean {
  if (typeof value === "string") return value.startsWith("\ufeff");
  if (Array.isArray(value)) return value.some(hasLeadingBom);
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.entries(value).some(([k, v]) => k.startsWith("\ufeff") || hasLeadingBom(v));
  }
  return false;
}

/**
 * `value` with every string (and map key) made well-formed, as any string decoded from UTF-8
 * is: a lone surrogate cannot cross the wire, so a sale holding one is not a sale a server sees.
 */
function wellFormed<T>(value: T): T {
  if (typeof value === "string") return Buffer.from(value, "utf8").toString("utf8") as T;
  if (Array.isArray(value)) return value.map(wellFormed) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [wellFormed(k), wellFormed(v)]),
    ) as T;
  }
  return value;
}

/**
 * Valid and invalid sales alike, as a decoder could produce them, including strings that start
 * with U+FEFF (src/protobuf/text-encoding.ts keeps them through decoding).
 */
const anySale = fc
  // Few lines: encoding dominates these properties and many lines add nothing to them.
  .oneof(validSaleOf(20), encodableSale)
  .map(wellFormed);

/** The same sale with its attribute entries inserted in `order` (indexes into its keys). */
function withAttributeOrder(sale: Sale, order: number[]): Sale {
  const keys = Object.keys(sale.attributes);
  const copy = copyOf(sale);
  const attributes: Record<string, string> = {};
  for (const i of order) {
    const k = keys[i] as string;
    attributes[k] = sale.attributes[k] ?? "";
  }
  copy.attributes = attributes;
  return copy;
}

// Above every field number of Sale, LineItem and Totals, including those the v2 model added
// (Sale 12-20, LineItem 7-14, Totals 5-8), so these stay unknown as the schema grows.
const UNKNOWN_FROM = 100;

const unknownField = fc.oneof(
  fc.record({
    no: fc.integer({ min: UNKNOWN_FROM, max: 536_870_911 }),
    wireType: fc.constant(WireType.Varint),
    data: fc.constantFrom(Uint8Array.of(0), Uint8Array.of(0x96, 0x01)),
  }),
  fc.record({
    no: fc.integer({ min: UNKNOWN_FROM, max: 536_870_911 }),
    wireType: fc.constant(WireType.LengthDelimited),
    data: fc.uint8Array({ maxLength: 20 }).map((b) => Uint8Array.of(b.length, ...b)),
  }),
  fc.record({
    no: fc.integer({ min: UNKNOWN_FROM, max: 536_870_911 }),
    wireType: fc.constant(WireType.Bit32),
    data: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  }),
);

describe("fingerprintSale", () => {
  it("is the same after encoding and decoding, with or without the client's bytes", () => {
    fc.assert(
      fc.property(anySale, (sale) => {
        const { hash } = fingerprintSale(sale);
        const bytes = toBinary(SaleSchema, sale);
        const decoded = fromBinary(SaleSchema, bytes);
        expect(fingerprintSale(decoded).hash).toBe(hash);
        expect(fingerprintSale(decoded, bytes).hash).toBe(hash);
        const again = toBinary(SaleSchema, decoded);
        expect(fingerprintSale(fromBinary(SaleSchema, again), again).hash).toBe(hash);
      }),
      { numRuns: 200 },
    );
  });

  // Found by the round-trip property: protobuf-es decodes strings with a default TextDecoder,
  // which strips a leading byte-order mark (U+FEFF). The server then validates, stores in
  // columns and (with two or more attributes) re-encodes and stores a sale that is not the one
  // the client sent, and two different sales share one fingerprint.
  it("keeps a leading U+FEFF in strings through a round trip", () => {
    const sale = create(SaleSchema, {
      saleId: "\ufeffsale-1",
      attributes: { a: "\ufeffvalue", b: "x" },
    });
    const clientBytes = canonicalSaleBytes(sale);
    const decoded = fromBinary(SaleSchema, clientBytes);
    expect(decoded.saleId).toBe("\ufeffsale-1");
    expect(decoded.attributes).toEqual({ a: "\ufeffvalue", b: "x" });
    // What the server stores for this request is what the client sent.
    expect(Buffer.from(fingerprintSale(decoded, clientBytes).bytes)).toEqual(
      Buffer.from(clientBytes),
    );
    expect(fingerprintSale(decoded).hash).not.toBe(
      fingerprintSale(create(SaleSchema, { saleId: "sale-1", attributes: { a: "value", b: "x" } }))
        .hash,
    );
  });

  it("does not depend on the order of attribute entries", () => {
    const entries = fc.uniqueArray(fc.tuple(encodableString, encodableString), {
      minLength: 2,
      maxLength: 10,
      selector: ([k]) => k,
    });
    const withOrders = fc
      .tuple(
        anySale,
        entries.filter((e) => !e.some(([k, v]) => hasLeadingBom([k, v]) || k === "__proto__")),
      )
      .chain(([base, attributeEntries]) => {
        const sale = copyOf(base);
        sale.attributes = Object.fromEntries(attributeEntries);
        const indexes = attributeEntries.map((_, i) => i);
        const order = fc.shuffledSubarray(indexes, {
          minLength: indexes.length,
          maxLength: indexes.length,
        });
        return fc.tuple(fc.constant(sale), order, order);
      });
    fc.assert(
      fc.property(withOrders, ([sale, a, b]) => {
        const first = withAttributeOrder(sale, a);
        const second = withAttributeOrder(sale, b);
        const { hash } = fingerprintSale(sale);
        expect(fingerprintSale(first).hash).toBe(hash);
        expect(fingerprintSale(second).hash).toBe(hash);
        expect(Buffer.compare(canonicalSaleBytes(second), canonicalSaleBytes(first))).toBe(0);
        // As a client that writes map entries in its own order would send it.
        const clientBytes = toBinary(SaleSchema, second);
        expect(fingerprintSale(fromBinary(SaleSchema, clientBytes), clientBytes).hash).toBe(hash);
      }),
      { numRuns: 200 },
    );
  });

  it("counts unknown fields anywhere in the sale, with or without the client's bytes", () => {
    fc.assert(
      fc.property(
        anySale,
        fc.array(unknownField, { minLength: 1, maxLength: 3 }),
        fc.array(unknownField, { maxLength: 2 }),
        (sale, top, nested) => {
          const { hash } = fingerprintSale(sale);
          const withUnknown = copyOf(sale);
          withUnknown.$unknown = top;
          const line = withUnknown.lineItems[0];
          if (line && nested.length > 0) line.$unknown = nested;
          if (withUnknown.totals && nested.length > 0) withUnknown.totals.$unknown = nested;
          const bytes = toBinary(SaleSchema, withUnknown);
          expect(bytes.length).toBeGreaterThan(toBinary(SaleSchema, sale).length);
          const decoded = fromBinary(SaleSchema, bytes);
          // A field of a newer schema may be what tells two sales apart.
          expect(fingerprintSale(decoded).hash).not.toBe(hash);
          expect(fingerprintSale(decoded, bytes)).toEqual(fingerprintSale(decoded));
        },
      ),
      { numRuns: 200 },
    );
  });
});
