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

  it("skips the record's key and unknown fields, before or after the sale", () => {
    const sale = makeSale();
    const saleBytes = toBinary(SaleSchema, sale);
    const withKey = toBinary(
      IngestRequestSchema,
      create(IngestRequestSchema, { sale, idempotencyKey: "acme/store-1/sale-9" }),
    );
    expect(saleBytesOf(withKey)).toEqual(saleBytes);
    const unknownFirst = new Uint8Array([
      ...[0x10, 0x96, 0x01], // field 2 as a varint (an unknown shape), then fixed32 field 9
      ...[0x4d, 1, 2, 3, 4],
      ...[0x0a, (saleBytes.length & 0x7f) | 0x80, saleBytes.length >> 7],
      ...saleBytes,
      ...[0x19, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64 field 3
    ]);
    expect(saleBytesOf(unknownFirst)).toEqual(saleBytes);
  });

  it("declines a request without exactly one well-formed sale field", () => {
    const sale = toBinary(SaleSchema, makeSale());
    const saleField = [0x0a, (sale.length & 0x7f) | 0x80, sale.length >> 7, ...sale];
    // Two sale fields: decoders merge them, so neither one's bytes is the sale.
    expect(saleBytesOf(new Uint8Array([...saleField, ...saleField]))).toBeUndefined();
    // A group (wire type 3), and a field cut short after the sale.
    expect(saleBytesOf(new Uint8Array([...saleField, 0x1b, 0x1c]))).toBeUndefined();
    expect(saleBytesOf(new Uint8Array([...saleField, 0x19, 1, 2]))).toBeUndefined();
    expect(saleBytesOf(new Uint8Array())).toBeUndefined();
    expect(saleBytesOf(new Uint8Array([0x12, 0x00]))).toBeUndefined();
    // A length that runs past the end, and an unterminated varint.
    expect(saleBytesOf(new Uint8Array([0x0a, 0x05, 0x01]))).toBeUndefined();
    expect(saleBytesOf(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
  });
});
