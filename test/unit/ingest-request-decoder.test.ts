import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { decodeIngestRequest } from "../../src/protobuf/ingest-request-decoder.js";
import { fromBinaryStrict } from "../../src/protobuf/strict-decode.js";
import "../../src/protobuf/text-encoding.js";
import { makeSale } from "../support/fixtures.js";

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
// Mostly values the fast path takes, so it is exercised; now and then ones it must decline.
const int64 = fc.oneof(
  { arbitrary: fc.bigInt({ min: 0n, max: 10n ** 13n }), weight: 20 },
  { arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), weight: 1 },
  { arbitrary: fc.constantFrom(0n, 2n ** 49n - 1n, 2n ** 49n, -1n), weight: 1 },
);
const int32 = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 10 },
  { arbitrary: fc.integer(), weight: 1 },
);

const saleInit: fc.Arbitrary<MessageInitShape<typeof SaleSchema>> = fc.record(
  {
    saleId: text,
    locationId: text,
    registerId: text,
    source: text,
    occurredAt: fc.record({ seconds: int64, nanos: int32 }),
    currency: text,
    lineItems: fc.array(
      fc.record({
        sku: text,
        name: text,
        quantityMilli: int64,
        unitPriceMinor: int64,
        discountMinor: int64,
        taxMinor: int64,
      }),
      { maxLength: 4 },
    ),
    payments: fc.array(fc.record({ tenderType: int32, amountMinor: int64 }), { maxLength: 3 }),
    totals: fc.record({
      subtotalMinor: int64,
      discountMinor: int64,
      taxMinor: int64,
      totalMinor: int64,
    }),
    customer: fc.record({ customerId: text, name: text, email: text, phone: text }),
    attributes: fc.dictionary(text, text, { maxKeys: 4 }),
  },
  { requiredKeys: [] },
);

/** How often the fast path took a generated message (it must take most of them to be tested). */
let taken = 0;

const encodedRequest = fc
  .tuple(fc.option(saleInit, { nil: undefined }), fc.option(text, { nil: undefined }))
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
});
