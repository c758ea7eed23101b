import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IngestRequestSchema, IngestService } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  DecodeFailure,
  Received,
  toGrpcServiceDefinition,
} from "../../src/grpc/service-adapter.js";
import { INGEST_DECODING } from "../../src/ingest/request-decoders.js";
import { fromBinaryStrict, MalformedMessage } from "../../src/protobuf/strict-decode.js";
import { makeSale } from "../support/fixtures.js";
import { anySaleInit, edgyInt32, edgyInt64, edgyUint32 } from "../support/sale-any-arbitrary.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";

// Verdicts marked "reference" were checked against protobuf-go (`buf convert`), which refuses
// each with "cannot parse invalid wire-format data" or accepts it, as noted.

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * The shape of the counterexample of fuzz seed -119842304: the request's `sale` length written
 * as a non-minimal varint and one byte short, so the sale's `sale_id` runs past the sale's end;
 * what follows it is the sale's `location_id` field, whose tag (0x12) is `idempotency_key` at
 * the top level. Reference: refused.
 */
function overrunningSaleId(): Uint8Array {
  const saleId = [0x0a, 0x03, ...utf8("S-1")];
  const locationId = [0x12, 0x07, ...utf8("store-7")];
  const saleLength = saleId.length - 1;
  return new Uint8Array([0x0a, 0x80 | saleLength, 0x00, ...saleId, ...locationId]);
}

function decodeRequest(bytes: Uint8Array): unknown {
  const definition = toGrpcServiceDefinition(
    IngestService,
    INGEST_DECODING.fastDecoders,
    INGEST_DECODING.deferred,
  );
  const method = definition.ingest;
  if (!method) throw new Error("no ingest method");
  return method.requestDeserialize(Buffer.from(bytes));
}

describe("decoding a request (the gRPC deserializer)", () => {
  it("refuses a request whose nested field runs past the end of its sale (fuzz seed -119842304)", () => {
    const bytes = overrunningSaleId();
    // protobuf-es alone reads the overrun and decodes a different request.
    expect(fromBinary(IngestRequestSchema, bytes).idempotencyKey).toBe("store-7");
    expect(decodeRequest(bytes)).toBeInstanceOf(DecodeFailure);
  });

  it("still decodes a well-formed request, non-minimal length prefix and all", () => {
    const saleBytes = toBinary(SaleSchema, makeSale());
    const padded = [0x80 | (saleBytes.length & 0x7f), 0x80 | (saleBytes.length >> 7), 0x00];
    const bytes = new Uint8Array([0x0a, ...padded, ...saleBytes, 0x12, 0x01, 0x6b]);
    const decoded = decodeRequest(bytes);
    expect(decoded).toBeInstanceOf(Received);
    expect((decoded as Received<{ idempotencyKey: string }>).message.idempotencyKey).toBe("k");
  });
});

describe("the gRPC deserializer on v2 sales", () => {
  // Fast decoder or fallback, the deserializer must answer as fromBinaryStrict does: the same
  // message, or a DecodeFailure where it refuses the bytes.
  const v2Text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("", "é", "😀"));
  const v2Request = fc
    .tuple(
      fc.oneof(
        anySaleInit({
          text: v2Text,
          int64: edgyInt64,
          int32: edgyInt32,
          uint32: edgyUint32,
          attributes: fc.dictionary(v2Text, v2Text, { maxKeys: 3 }),
        }).map((init) => create(SaleSchema, init)),
        validTransaction(),
      ),
      v2Text,
    )
    .map(([sale, idempotencyKey]) =>
      toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale, idempotencyKey })),
    );

  it("decodes every v2 request, mutated or truncated, as fromBinaryStrict does (which narrows fromBinary)", () => {
    fc.assert(
      fc.property(
        v2Request,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        (good, edits, cut) => {
          const mutated = good.slice();
          for (const [at, value] of edits) mutated[at % mutated.length] = value;
          for (const bytes of [good, mutated, good.subarray(0, cut % (good.length + 1))]) {
            const decoded = decodeRequest(bytes);
            let expected: unknown;
            try {
              // A Buffer as grpc-js passes it, so unknown fields' bytes are Buffers on both sides.
              expected = fromBinaryStrict(IngestRequestSchema, Buffer.from(bytes));
            } catch {
              expect(decoded).toBeInstanceOf(DecodeFailure);
              continue;
            }
            expect(decoded).toBeInstanceOf(Received);
            expect((decoded as Received<unknown>).message).toStrictEqual(expected);
            expect(expected).toStrictEqual(fromBinary(IngestRequestSchema, Buffer.from(bytes)));
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("fromBinaryStrict", () => {
  const sale = () => toBinary(SaleSchema, makeSale({ attributes: { a: "1" } }));
  const wrap = (saleBytes: Uint8Array) =>
    new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(saleBytes).finish();

  it("decodes well-formed bytes exactly as fromBinary does, unknown fields and groups included", () => {
    const withUnknown = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(new BinaryWriter().raw(sale()).tag(99, WireType.Varint).uint32(7).finish())
      .tag(50, WireType.StartGroup)
      .tag(1, WireType.Varint)
      .uint32(1)
      .tag(50, WireType.EndGroup)
      .tag(51, WireType.Bit64)
      .fixed64(1n)
      .tag(52, WireType.Bit32)
      .fixed32(1)
      .finish();
    for (const bytes of [wrap(sale()), withUnknown, new Uint8Array()]) {
      expect(fromBinaryStrict(IngestRequestSchema, bytes)).toStrictEqual(
        fromBinary(IngestRequestSchema, bytes),
      );
    }
  });

  // Each case is a sale (or a part of one) whose last field runs past the end of its enclosing
  // message by one byte, while the request as a whole has enough bytes. Reference: refused.
  const overruns: [string, (extra: number) => Uint8Array][] = [
    ["a string", (x) => new Uint8Array([0x0a, 2 + x, 0x41, 0x42])],
    [
      "a varint",
      (x) => new Uint8Array(x ? [0x52, 0x01, 0x08] : [0x4a, 0x02, 0x08, 0x01]), // totals
    ],
    [
      "a submessage",
      (x) => new Uint8Array([0x4a, 0x02, 0x08, 0x01].map((b, i) => (i === 1 ? b + x : b))),
    ],
    ["a map entry's value", (x) => new Uint8Array([0x5a, 0x05, 0x0a, 0x01, 0x6b, 0x12, x])],
    [
      "an unknown length-delimited field",
      (x) => new Uint8Array([0xa2, 0x06, 0x01 + x, 0x00]), // field 100
    ],
    ["an unknown fixed64", (x) => new Uint8Array([0xa1, 0x06, ...new Array(8 - x).fill(0)])],
    [
      "an unknown group",
      (x) => new Uint8Array(x ? [0xa3, 0x06, 0x08, 0x01] : [0xa3, 0x06, 0xa4, 0x06]),
    ],
  ];

  it.each(overruns)("refuses %s that runs past the end of its message", (_name, make) => {
    const fits = make(0);
    expect(() => fromBinaryStrict(IngestRequestSchema, wrap(fits))).not.toThrow();
    // The trailing bytes stand in for whatever follows the sale in the request.
    const runsOver = new Uint8Array([...wrap(make(1)), 0x12, 0x01, 0x6b, 0x12, 0x01, 0x6b]);
    expect(() => fromBinaryStrict(IngestRequestSchema, runsOver)).toThrow(MalformedMessage);
  });

  it("only ever narrows fromBinary: what it accepts, fromBinary decodes the same", () => {
    const good = wrap(sale());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 })
            .map((edits) => {
              const b = good.slice();
              for (const [at, value] of edits) b[at % b.length] = value;
              return b;
            }),
        ),
        (bytes) => {
          let strict: unknown;
          try {
            strict = fromBinaryStrict(IngestRequestSchema, bytes);
          } catch {
            return;
          }
          expect(strict).toStrictEqual(fromBinary(IngestRequestSchema, bytes));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("refuses a known field with the wrong wire type, which protobuf-es would misread", () => {
    // sale (field 1) as a varint 5, then 5 bytes protobuf-es would read as a sale.
    const bytes = new Uint8Array([0x08, 0x05, 0x0a, 0x03, 0x41, 0x42, 0x43]);
    expect(() => fromBinary(IngestRequestSchema, bytes)).not.toThrow();
    expect(() => fromBinaryStrict(IngestRequestSchema, bytes)).toThrow(MalformedMessage);
  });

  it("refuses other fields in a map entry, an end-group outside a group and long varints", () => {
    const cases = [
      wrap(new Uint8Array([0x5a, 0x05, 0x18, 0x01, 0x0a, 0x01, 0x6b])), // field 3 in an entry
      new Uint8Array([0x0c]),
      new Uint8Array([0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), // a 6-byte length
      wrap(new Uint8Array([0x4a, 0x0b, 0x08, ...new Array(10).fill(0xff)])),
      new Uint8Array(200).fill(0x7b), // groups nested 200 deep
    ];
    for (const bytes of cases) {
      expect(() => fromBinaryStrict(IngestRequestSchema, bytes)).toThrow(MalformedMessage);
    }
  });

  it("accepts a request whose sale is written in any field order", () => {
    const request = create(IngestRequestSchema, { sale: makeSale(), idempotencyKey: "k" });
    const bytes = toBinary(IngestRequestSchema, request);
    const keyFirst = new Uint8Array([0x12, 0x01, 0x6b, ...wrap(toBinary(SaleSchema, makeSale()))]);
    expect(fromBinaryStrict(IngestRequestSchema, bytes)).toStrictEqual(request);
    expect(fromBinaryStrict(IngestRequestSchema, keyFirst).idempotencyKey).toBe("k");
  });
});
