/**
 * Arbitrary (not necessarily valid) sales of model v2, every field of every message optional and
 * drawn from edge values as well as ordinary ones, for the differential tests of the fast decoder
 * and the canonical-encoding check against protobuf-es. Valid transactions come from
 * sale-v2-arbitrary.ts; these are for everything a client could put on the wire.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import fc from "fast-check";
import type { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";

type SaleInit = MessageInitShape<typeof SaleSchema>;

/** The value arbitraries a test chooses: its own texts, and what its code path must decline. */
export interface ValueArbitraries {
  readonly text: fc.Arbitrary<string>;
  readonly int64: fc.Arbitrary<bigint>;
  readonly int32: fc.Arbitrary<number>;
  readonly uint32: fc.Arbitrary<number>;
  /** Attribute map keys and values. */
  readonly attributes: fc.Arbitrary<Record<string, string>>;
}

/** int64s around every boundary the fast paths care about: 0, ±2^49, the ten-byte negatives. */
export const edgyInt64: fc.Arbitrary<bigint> = fc.oneof(
  { arbitrary: fc.bigInt({ min: 0n, max: 10n ** 13n }), weight: 12 },
  { arbitrary: fc.bigInt({ min: -(10n ** 13n), max: -1n }), weight: 6 },
  { arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), weight: 1 },
  {
    arbitrary: fc.constantFrom(
      0n,
      -1n,
      2n ** 49n - 1n,
      2n ** 49n,
      -(2n ** 49n),
      -(2n ** 49n) - 1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ),
    weight: 2,
  },
);

/** Enum-like int32s: mostly declared values, now and then undeclared or negative ones. */
export const edgyInt32: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 10 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.constantFrom(-1, 2 ** 31 - 1, -(2 ** 31)), weight: 1 },
);

export const edgyUint32: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 10 },
  { arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }), weight: 1 },
  { arbitrary: fc.constantFrom(2 ** 31, 2 ** 32 - 1), weight: 1 },
);

/** A Sale init with any subset of the fields of sale model v2 set, to any value. */
export function anySaleInit(v: ValueArbitraries): fc.Arbitrary<SaleInit> {
  const { text, int64, int32, uint32 } = v;
  const opt = { requiredKeys: [] as [] };
  const tax = fc.record(
    { code: text, name: text, ratePpm: int64, amountMinor: int64, mode: int32 },
    opt,
  );
  const line = fc.record(
    {
      sku: text,
      name: text,
      quantityMilli: int64,
      unitPriceMinor: int64,
      discountMinor: int64,
      taxMinor: int64,
      kind: int32,
      voided: fc.boolean(),
      taxes: fc.array(tax, { maxLength: 3 }),
      appliedDiscounts: fc.array(fc.record({ discountIndex: uint32, amountMinor: int64 }, opt), {
        maxLength: 2,
      }),
      unitPriceScaled: int64,
      unitPriceScale: uint32,
      lineId: text,
      originalLineId: text,
    },
    opt,
  );
  const payment = fc.record(
    {
      tenderType: int32,
      amountMinor: int64,
      tipMinor: int64,
      tenderedMinor: int64,
      changeMinor: int64,
      cardBrand: text,
      cardLast4: text,
    },
    opt,
  );
  const totals = fc.record(
    {
      subtotalMinor: int64,
      discountMinor: int64,
      taxMinor: int64,
      totalMinor: int64,
      serviceChargeMinor: int64,
      includedTaxMinor: int64,
      roundingMinor: int64,
      tipMinor: int64,
    },
    opt,
  );
  return fc.record(
    {
      saleId: text,
      locationId: text,
      registerId: text,
      source: text,
      occurredAt: fc.record({ seconds: int64, nanos: int32 }, opt),
      currency: text,
      lineItems: fc.array(line, { maxLength: 3 }),
      payments: fc.array(payment, { maxLength: 2 }),
      totals,
      customer: fc.record({ customerId: text, name: text, email: text, phone: text }, opt),
      attributes: v.attributes,
      kind: int32,
      original: fc.record(
        { saleId: text, locationId: text, source: text, idempotencyKey: text, kind: int32 },
        opt,
      ),
      businessDay: text,
      cashierId: text,
      loyaltyAccountId: text,
      basketDiscounts: fc.array(
        fc.record({ code: text, name: text, amountMinor: int64, ratePpm: int64 }, opt),
        { maxLength: 2 },
      ),
      serviceCharges: fc.array(
        fc.record(
          {
            code: text,
            name: text,
            amountMinor: int64,
            kind: int32,
            taxes: fc.array(tax, { maxLength: 2 }),
          },
          opt,
        ),
        { maxLength: 2 },
      ),
      cashRounding: fc.record({ incrementMinor: int64, rule: int32 }, opt),
      lineRounding: int32,
    },
    opt,
  ) as fc.Arbitrary<SaleInit>;
}
