import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import * as protoLoader from "@grpc/proto-loader";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LineItemSchema,
  type Sale,
  SaleSchema,
  type TenderType,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { canonicalSaleBytes, fingerprintSale } from "../../src/ingest/canonical.js";
import { saleBytesOf } from "../../src/ingest/request-bytes.js";
import { isCanonicalSaleEncoding } from "../../src/protobuf/canonical-sale-check.js";
import { fromBinaryStrict } from "../../src/protobuf/strict-decode.js";
import { makeSale } from "../support/fixtures.js";
import { anySaleInit, edgyInt32, edgyInt64, edgyUint32 } from "../support/sale-any-arbitrary.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";

// The check may answer false for canonical bytes (they are re-encoded, to the same bytes), but
// never true for bytes that are not what canonicalSaleBytes writes for the sale they decode to.

const definition = protoLoader.loadSync("pos/ingest/v1/ingest.proto", {
  includeDirs: ["proto"],
  longs: String,
});
const ingest = (definition["pos.ingest.v1.IngestService"] as protoLoader.ServiceDefinition).Ingest;
/** A sale as protobuf.js (behind @grpc/proto-loader) encodes an object with every field set. */
function protobufJsBytes(sale: Sale): Uint8Array {
  const request = ingest?.requestSerialize({ sale: longsAsStrings(sale) }) as Buffer;
  return saleBytesOf(request) as Uint8Array;
}

/** protobuf.js takes 64-bit integers as decimal strings, not bigints. */
function longsAsStrings(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(longsAsStrings);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, longsAsStrings(v)]));
}

// No "__proto__": protobuf-es drops that map key when it decodes (an assignment to __proto__),
// so such a sale never reaches the fingerprint as sent; validation-fuzz.test.ts leaves it out too.
const text = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: fc.constantFrom("a", "b", "Z", "_", "-", "1"), maxLength: 6 }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "é",
      "😀",
      "10",
      "9",
      "toString",
      "constructor",
      "x".repeat(200),
    ),
  },
);
// Every v2 field; int64s on both sides of zero and of ±2^49, enums mostly declared.
const anySale: fc.Arbitrary<Sale> = anySaleInit({
  text,
  int64: edgyInt64,
  int32: edgyInt32,
  uint32: edgyUint32,
  attributes: fc.dictionary(text, text, { maxKeys: 4, noNullPrototype: true }),
}).map((init) => create(SaleSchema, init));
const sale: fc.Arbitrary<Sale> = fc.oneof(anySale, validTransaction());

describe("isCanonicalSaleEncoding", () => {
  it("says yes only to the canonical bytes of the sale they decode to", () => {
    let yes = 0;
    fc.assert(
      fc.property(
        sale,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
        fc.constantFrom("canonical", "protobuf-es", "protobuf.js"),
        (s, edits, encoder) => {
          const encoded =
            encoder === "canonical"
              ? canonicalSaleBytes(s)
              : encoder === "protobuf-es"
                ? toBinary(SaleSchema, s)
                : protobufJsBytes(s);
          const bytes = encoded.slice();
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          let decoded: Sale;
          try {
            decoded = fromBinaryStrict(SaleSchema, bytes);
          } catch {
            return;
          }
          if (!isCanonicalSaleEncoding(bytes)) return;
          yes++;
          expect(Buffer.from(canonicalSaleBytes(decoded)).toString("hex")).toBe(
            Buffer.from(bytes).toString("hex"),
          );
        },
      ),
      { numRuns: 2_000 },
    );
    expect(yes).toBeGreaterThan(200);
  });

  it("says yes to the canonical bytes of an ordinary sale, so the fast path is taken", () => {
    for (const s of [
      makeSale(),
      makeSale({ attributes: {} }),
      makeSale({ attributes: { campaign: "spring", cashier: "bob", channel: "in-store" } }),
      makeSale({ customer: {} }),
      makeSale({ customer: { customerId: "c-1", name: "Zoë", email: "z@example.com" } }),
      makeSale({ saleId: "😀-1", attributes: { a: "é".repeat(100), "a-1": "" } }),
    ]) {
      expect(isCanonicalSaleEncoding(canonicalSaleBytes(s))).toBe(true);
    }
  });

  it("says yes to the canonical bytes of every valid v2 transaction, refunds and all", () => {
    fc.assert(
      fc.property(validTransaction(), (s) => {
        expect(isCanonicalSaleEncoding(canonicalSaleBytes(s))).toBe(true);
      }),
      { numRuns: 300 },
    );
    for (const value of [-1n, -(2n ** 49n), -(2n ** 63n)]) {
      const s = create(SaleSchema, { totals: { totalMinor: value }, kind: 2 });
      expect(isCanonicalSaleEncoding(canonicalSaleBytes(s)), `${value}`).toBe(true);
    }
  });

  it("says no to every other encoding of a sale", () => {
    const base = makeSale({ attributes: { a: "1", b: "2" } });
    expect(isCanonicalSaleEncoding(canonicalSaleBytes(base))).toBe(true);
    const line = toBinary(LineItemSchema, create(LineItemSchema, { sku: "S", quantityMilli: 1n }));
    const cases: [string, Uint8Array][] = [
      ["an empty string written", Uint8Array.of(0x0a, 0x00, 0x12, 0x01, 0x41)],
      ["fields out of order", Uint8Array.of(0x12, 0x01, 0x42, 0x0a, 0x01, 0x41)],
      ["zeros written by protobuf.js", protobufJsBytes(base)],
      ["a padded length", Uint8Array.of(0x0a, 0x81, 0x00, 0x41)],
      ["a padded varint", Uint8Array.of(0x4a, 0x03, 0x08, 0x81, 0x00)],
      ["a zero varint", Uint8Array.of(0x4a, 0x02, 0x08, 0x00)],
      [
        "a negative int64 whose last byte protobuf-es truncates",
        Uint8Array.of(0x4a, 0x0b, 0x20, ...new Array(9).fill(0xff), 0x03),
      ],
      [
        "an int64 varint of ten bytes that is not negative",
        Uint8Array.of(0x4a, 0x0b, 0x20, ...new Array(9).fill(0xff), 0x00),
      ],
      ["a bool written as 2", Uint8Array.of(0x3a, 0x02, 0x40, 0x02)],
      ["a uint32 past 2^32", Uint8Array.of(0x3a, 0x06, 0x60, 0x80, 0x80, 0x80, 0x80, 0x10)],
      ["a tag padded to two bytes", Uint8Array.of(0x8a, 0x00, 0x01, 0x41)],
      ["a two-byte tag of field 32", Uint8Array.of(0x82, 0x02, 0x01, 0x41)],
      ["fields 16 before 15", Uint8Array.of(0x82, 0x01, 0x01, 0x41, 0x7a, 0x01, 0x41)],
      [
        "a negative int32",
        toBinary(SaleSchema, create(SaleSchema, { payments: [{ tenderType: -1 as TenderType }] })),
      ],
      ["a singular field twice", Uint8Array.of(0x0a, 0x01, 0x41, 0x0a, 0x01, 0x42)],
      ["an unknown field (21)", Uint8Array.of(0x0a, 0x01, 0x41, 0xa8, 0x01, 0x01)],
      ["an unknown field (99)", Uint8Array.of(0x0a, 0x01, 0x41, 0x98, 0x06, 0x01)],
      ["a line item with a zero", Uint8Array.of(0x3a, line.length + 2, ...line, 0x28, 0x00)],
      [
        "map entries out of order",
        Uint8Array.of(
          0x5a,
          0x06,
          0x0a,
          0x01,
          0x62,
          0x12,
          0x01,
          0x31,
          0x5a,
          0x06,
          0x0a,
          0x01,
          0x61,
          0x12,
          0x01,
          0x31,
        ),
      ],
      [
        "a map key twice",
        Uint8Array.of(
          0x5a,
          0x05,
          0x0a,
          0x01,
          0x61,
          0x12,
          0x00,
          0x5a,
          0x05,
          0x0a,
          0x01,
          0x61,
          0x12,
          0x00,
        ),
      ],
      ["a map entry value first", Uint8Array.of(0x5a, 0x05, 0x12, 0x00, 0x0a, 0x01, 0x61)],
      ["a map entry without its value", Uint8Array.of(0x5a, 0x03, 0x0a, 0x01, 0x61)],
      ["an integer-like map key", Uint8Array.of(0x5a, 0x05, 0x0a, 0x01, 0x39, 0x12, 0x00)],
      ["a non-ASCII map key", Uint8Array.of(0x5a, 0x06, 0x0a, 0x02, 0xc3, 0xa9, 0x12, 0x00)],
      [
        "an Object.prototype map key",
        toBinary(SaleSchema, create(SaleSchema, { attributes: { toString: "" } })),
      ],
    ];
    for (const [name, bytes] of cases) {
      expect(isCanonicalSaleEncoding(bytes), name).toBe(false);
    }
  });
});

describe("fingerprintSale with the client's bytes", () => {
  it("is the canonical fingerprint however the client encoded the sale", () => {
    fc.assert(
      fc.property(sale, (s) => {
        const canonical = fingerprintSale(s);
        for (const bytes of [toBinary(SaleSchema, s), protobufJsBytes(s)]) {
          const decoded = fromBinary(SaleSchema, bytes);
          const fp = fingerprintSale(decoded, bytes);
          expect(fp.hash).toBe(canonical.hash);
          expect(Buffer.from(fp.bytes)).toEqual(Buffer.from(canonical.bytes));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps unknown fields, after the known ones wherever they came", () => {
    const s = makeSale();
    const unknown = new BinaryWriter().tag(99, WireType.Varint).uint32(7).finish();
    const last = new BinaryWriter().raw(toBinary(SaleSchema, s)).raw(unknown).finish();
    const first = new BinaryWriter().raw(unknown).raw(toBinary(SaleSchema, s)).finish();
    const a = fingerprintSale(fromBinary(SaleSchema, last), last);
    const b = fingerprintSale(fromBinary(SaleSchema, first), first);
    expect(Buffer.from(a.bytes)).toEqual(Buffer.from(last));
    expect(b.hash).toBe(a.hash);
    expect(a.hash).not.toBe(fingerprintSale(clone(SaleSchema, s)).hash);
  });
});
