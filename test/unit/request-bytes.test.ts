import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { saleBytesOf } from "../../src/ingest/request-bytes.js";
import { makeSale } from "../support/fixtures.js";

describe("saleBytesOf", () => {
  it("returns exactly the sale's encoding from a request holding only the sale", () => {
    const sale = makeSale();
    const request = toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale }));
    expect(saleBytesOf(request)).toEqual(toBinary(SaleSchema, sale));
  });

  it("handles a multi-byte length prefix", () => {
    const lineItems = Array.from({ length: 300 }, (_, i) => ({
      sku: `SKU-${i}`,
      name: "x".repeat(50),
      quantityMilli: 1000n,
      unitPriceMinor: 100n,
    }));
    const sale = makeSale({ lineItems });
    const request = toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale }));
    expect(request.length).toBeGreaterThan(16_384);
    expect(saleBytesOf(request)).toEqual(toBinary(SaleSchema, sale));
  });

  it("declines a request with anything besides one sale field", () => {
    const sale = toBinary(SaleSchema, makeSale());
    const withUnknown = new Uint8Array([
      ...[0x0a, (sale.length & 0x7f) | 0x80, sale.length >> 7],
      ...sale,
      0x10,
      0x01,
    ]);
    expect(saleBytesOf(withUnknown)).toBeUndefined();
    expect(saleBytesOf(new Uint8Array())).toBeUndefined();
    expect(saleBytesOf(new Uint8Array([0x12, 0x00]))).toBeUndefined();
    // A length that runs past the end, and an unterminated varint.
    expect(saleBytesOf(new Uint8Array([0x0a, 0x05, 0x01]))).toBeUndefined();
    expect(saleBytesOf(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
  });
});
