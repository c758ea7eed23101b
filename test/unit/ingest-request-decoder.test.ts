import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { decodeIngestRequest } from "../../src/protobuf/ingest-request-decoder.js";
import { fromBinaryStrict } from "../../src/protobuf/strict-decode.js";
import "../../src/protobuf/text-encoding.js";
import { makeSale } from "../support/fixtures.js";
import { anySaleInit, edgyInt32, edgyInt64, edgyUint32 } from "../support/sale-any-arbitrary.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";

// The fast decoder must be indistinguishable from the fallback (protobuf-es after the
// well-formedness check of strict-decode.ts): whatever it returns equals what fromBinaryStrict
// returns, and it never accepts bytes fromBinaryStrict refuses. Declining (undefined) is always
// allowed: the adapter then uses fromBinaryStrict.

const RUNS = { numRuns: 300 };

/** What the fallback makes of `bytes`, or "error" when it refuses them. */
function reference(bytes: Uint8Array): IngestRequest | "error" {
  try {
    return fromBinaryStrict(IngestRequestSchema, bytes);
  } catch {
    return "error";
  }
}

function expectSameAsProtobufEs(bytes: Uint8Array): IngestRequest | undefined {
  const fast = decodeIngestRequest(bytes);
  if (fast !== undefined) expect(fast).toStrictEqual(reference(bytes));
  return fast;
}

const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.string({ unit: "binary", maxLength: 10 }),
  fc.constantFrom("", "\ufeffS-1", "Café", "\u0000", "\u0085", "__proto__", "toString"),
);
// Every v2 field, mostly values the fast path takes, so it is exercised; now and then ones it
// must decline (negative 32-bit values, int64s beyond ±2^49).
const saleInit = anySaleInit({
  text,
  int64: edgyInt64,
  int32: edgyInt32,
  uint32: edgyUint32,
  attributes: fc.dictionary(text, text, { maxKeys: 4 }),
});
const anySale = fc.oneof(
  saleInit.map((init) => create(SaleSchema, init)),
  validTransaction(),
);

/** How often the fast path took a generated message (it must take most of them to be tested). */
let taken = 0;

const encodedRequest = fc
  .tuple(fc.option(anySale, { nil: undefined }), fc.option(text, { nil: undefined }))
  .map(([sale, idempotencyKey]) =>
    toBinary(
      IngestRequestSchema,
      create(IngestRequestSchema, {
        ...(sale && { sale }),
        ...(idempotencyKey !== undefined && { idempotencyKey }),
      }),
    ),
  );

describe("decodeIngestRequest", () => {
  it("decodes what clients send, exactly as protobuf-es does", () => {
    const sales = [
      makeSale(),
      makeSale({ attributes: { channel: "in-store", cashier: "Zoë" } }),
      makeSale({ customer: { customerId: "c-1", name: "Ada Lovelace", email: "ada@example.com" } }),
      makeSale({ saleId: "😀-1", locationId: "Zürich" }),
    ];
    for (const sale of sales) {
      for (const idempotencyKey of ["", "pos-7/till-2/1001"]) {
        const request = create(IngestRequestSchema, { sale, idempotencyKey });
        expect(expectSameAsProtobufEs(toBinary(IngestRequestSchema, request))).toBeDefined();
      }
    }
    expect(expectSameAsProtobufEs(new Uint8Array())).toBeDefined();
  });

  it("agrees with protobuf-es on generated messages", () => {
    fc.assert(
      fc.property(encodedRequest, (bytes) => {
        if (expectSameAsProtobufEs(bytes)) taken++;
      }),
      RUNS,
    );
    expect(taken).toBeGreaterThan(RUNS.numRuns / 4);
  });

  it("agrees with protobuf-es on corrupted and truncated encodings", () => {
    fc.assert(
      fc.property(
        encodedRequest,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        (bytes, flips, cut) => {
          const corrupted = bytes.slice();
          for (const [at, value] of flips) {
            if (corrupted.length > 0) corrupted[at % corrupted.length] = value;
          }
          expectSameAsProtobufEs(corrupted);
          expectSameAsProtobufEs(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("agrees with protobuf-es on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expectSameAsProtobufEs(bytes);
      }),
      { numRuns: 1_000 },
    );
  });

  it("leaves merging, unknown fields and invalid UTF-8 to protobuf-es", () => {
    const sale = toBinary(SaleSchema, makeSale());
    const twice = new BinaryWriter().tag(1, 2).bytes(sale).tag(1, 2).bytes(sale).finish();
    const unknown = new BinaryWriter().tag(1, 2).bytes(sale).tag(99, 0).uint32(1).finish();
    const badUtf8 = new BinaryWriter()
      .tag(1, 2)
      .bytes(
        new BinaryWriter()
          .tag(1, 2)
          .bytes(new Uint8Array([0xc3, 0x28]))
          .finish(),
      )
      .finish();
    for (const bytes of [twice, unknown, badUtf8]) {
      expect(decodeIngestRequest(bytes)).toBeUndefined();
    }
  });

  it("never takes a field that runs past the end of its message (fuzz seed -119842304)", () => {
    // sale_id runs one byte past the sale; the sale's location_id follows outside it.
    const saleId = [0x0a, 0x03, 0x53, 0x2d, 0x31];
    const locationId = [0x12, 0x07, ...new TextEncoder().encode("store-7")];
    const bytes = new Uint8Array([0x0a, 0x84, 0x00, ...saleId, ...locationId]);
    expect(decodeIngestRequest(bytes)).toBeUndefined();
    expect(reference(bytes)).toBe("error");
  });

  it("keeps the last value of a repeated scalar field, like protobuf-es", () => {
    const saleBytes = new BinaryWriter()
      .tag(1, 2)
      .string("first")
      .tag(1, 2)
      .string("second")
      .finish();
    const bytes = new BinaryWriter().tag(1, 2).bytes(saleBytes).finish();
    expect(expectSameAsProtobufEs(bytes)?.sale?.saleId).toBe("second");
  });

  it("takes every valid v2 transaction, of every kind, and decodes it as protobuf-es does", () => {
    fc.assert(
      fc.property(validTransaction(), fc.option(text, { nil: undefined }), (sale, key) => {
        const request = create(IngestRequestSchema, {
          sale,
          ...(key !== undefined && { idempotencyKey: key }),
        });
        expect(expectSameAsProtobufEs(toBinary(IngestRequestSchema, request))).toBeDefined();
      }),
      RUNS,
    );
  });

  it("reads negative int64s exactly down to -2^49 and declines larger magnitudes", () => {
    const totals = (value: bigint) =>
      toBinary(
        IngestRequestSchema,
        create(IngestRequestSchema, { sale: { totals: { totalMinor: value, tipMinor: 1n } } }),
      );
    for (const value of [-1n, -2n, -128n, -(10n ** 13n), -(2n ** 49n) + 1n, -(2n ** 49n)]) {
      expect(expectSameAsProtobufEs(totals(value))?.sale?.totals?.totalMinor).toBe(value);
    }
    for (const value of [-(2n ** 49n) - 1n, -(2n ** 63n), 2n ** 49n, 2n ** 63n - 1n]) {
      expect(decodeIngestRequest(totals(value))).toBeUndefined();
      expect(reference(totals(value))).not.toBe("error");
    }
  });

  it("declines ten-byte varints that protobuf-es truncates, and 32-bit values past their range", () => {
    const inSale = (...fields: number[]) => Uint8Array.of(0x0a, fields.length, ...fields); // sale = the given bytes
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const cases = [
      // totals.total_minor = -1 with a last byte of 0x7f: protobuf-es keeps only its low bit.
      inSale(0x4a, 11, 0x20, ...minusOne, 0x7f),
      // the same with a last byte of 0x00: a valid varint of 2^63 - 1, 10 bytes long.
      inSale(0x4a, 11, 0x20, ...minusOne, 0x00),
      // kind = -1 (ten bytes)
      inSale(0x60, ...minusOne, 0x01),
      // line_items[0].unit_price_scale = 2^32 (truncated to 0 by protobuf-es)
      inSale(0x3a, 6, 0x60, 0x80, 0x80, 0x80, 0x80, 0x10),
      // a length prefix padded to six bytes: malformed for strict decoding
      Uint8Array.of(0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
    ];
    for (const bytes of cases) {
      expect(decodeIngestRequest(bytes), Buffer.from(bytes).toString("hex")).toBeUndefined();
    }
    expect(reference(cases[4] as Uint8Array)).toBe("error");
  });

  it("takes uint32s up to 2^32 - 1, any non-zero bool and a padded two-byte tag", () => {
    const line = [0x60, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x40, 0x02]; // scale 2^32 - 1, voided = 2
    const bytes = Uint8Array.of(
      0x0a,
      line.length + 5,
      0x3a,
      line.length,
      ...line,
      0x8a,
      0x00,
      0x00,
    );
    const decoded = expectSameAsProtobufEs(bytes);
    expect(decoded?.sale?.lineItems[0]?.unitPriceScale).toBe(2 ** 32 - 1);
    expect(decoded?.sale?.lineItems[0]?.voided).toBe(true);
    // 0x8a 0x00 is tag 10 (sale_id, length-delimited) written in two bytes.
    expect(decoded?.sale?.saleId).toBe("");
  });

  it("leaves a repeated original or cash_rounding to protobuf-es, which merges them", () => {
    const original = new BinaryWriter().tag(1, 2).string("O-1").finish();
    const kind = new BinaryWriter().tag(5, 0).int32(1).finish();
    const rounding = new BinaryWriter().tag(1, 0).int64(5n).finish();
    const rule = new BinaryWriter().tag(2, 0).int32(2).finish();
    for (const [no, a, b] of [
      [13, original, kind],
      [19, rounding, rule],
    ] as const) {
      const sale = new BinaryWriter().tag(no, 2).bytes(a).tag(no, 2).bytes(b).finish();
      const bytes = new BinaryWriter().tag(1, 2).bytes(sale).finish();
      expect(decodeIngestRequest(bytes)).toBeUndefined();
      expect(reference(bytes)).not.toBe("error");
    }
  });
});
