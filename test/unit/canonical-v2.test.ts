import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { canonicalSaleBytes, fingerprintSale } from "../../src/ingest/canonical.js";
import { fromBinaryStrict } from "../../src/protobuf/strict-decode.js";
import { anySaleInit, edgyInt32, edgyInt64, edgyUint32 } from "../support/sale-any-arbitrary.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";

// Arbitrary v2 sales (every field, negative amounts, edge values) and valid transactions.
const v2Text = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b", "Z", "-", "1"), maxLength: 5 }),
  fc.constantFrom("", "é", "😀", "10", "toString"),
);
const v2Sale: fc.Arbitrary<Sale> = fc.oneof(
  anySaleInit({
    text: v2Text,
    int64: edgyInt64,
    int32: edgyInt32,
    uint32: edgyUint32,
    attributes: fc.dictionary(v2Text, v2Text, { maxKeys: 4, noNullPrototype: true }),
  }).map((init) => create(SaleSchema, init)),
  validTransaction(),
);

describe("canonicalSaleBytes of v2 sales", () => {
  it("decodes back to an equal sale and is a fixed point", () => {
    fc.assert(
      fc.property(v2Sale, (sale) => {
        const bytes = canonicalSaleBytes(sale);
        const decoded = fromBinary(SaleSchema, bytes);
        expect(equals(SaleSchema, decoded, sale)).toBe(true);
        expect(canonicalSaleBytes(decoded)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("gives one fingerprint whatever bytes of the sale arrived, mutated ones included", () => {
    fc.assert(
      fc.property(
        v2Sale,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
        (sale, edits) => {
          const bytes = toBinary(SaleSchema, sale).slice();
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          let decoded: Sale;
          try {
            decoded = fromBinaryStrict(SaleSchema, bytes);
          } catch {
            return;
          }
          const fast = fingerprintSale(decoded, bytes);
          const slow = fingerprintSale(decoded);
          expect(fast.hash).toBe(slow.hash);
          expect(Buffer.from(fast.bytes)).toEqual(Buffer.from(slow.bytes));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
