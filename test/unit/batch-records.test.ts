import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  IngestBatchStreamRequestSchema,
  IngestRequestSchema,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { batchRecords } from "../../src/protobuf/batch-records.js";
import { makeSale } from "../support/fixtures.js";

const record = (key: string) =>
  create(IngestRequestSchema, { sale: makeSale(), idempotencyKey: key });

describe("batchRecords", () => {
  it("returns each record's exact bytes, in order", () => {
    const records = [record("a"), record(""), record("c".repeat(200))];
    const bytes = toBinary(IngestBatchStreamRequestSchema, {
      ...create(IngestBatchStreamRequestSchema),
      records,
    });
    const parts = batchRecords(bytes);
    expect(parts?.map((p) => Buffer.from(p))).toEqual(
      records.map((r) => Buffer.from(toBinary(IngestRequestSchema, r))),
    );
    expect(parts?.length).toBe(fromBinary(IngestBatchStreamRequestSchema, bytes).records.length);
  });

  it("reads an empty message as no records, and skips fields it does not know", () => {
    expect(batchRecords(new Uint8Array())).toEqual([]);
    const one = toBinary(IngestRequestSchema, create(IngestRequestSchema, { idempotencyKey: "k" }));
    const bytes = Uint8Array.from([
      ...[0x10, 0x96, 0x01], // field 2, varint
      ...[0x0a, one.length, ...one],
      ...[0x1d, 1, 2, 3, 4], // field 3, fixed32
      ...[0x21, 1, 2, 3, 4, 5, 6, 7, 8], // field 4, fixed64
      ...[0x2a, 2, 0x61, 0x62], // field 5, bytes
    ]);
    expect(batchRecords(bytes)?.map((p) => Buffer.from(p))).toEqual([Buffer.from(one)]);
  });

  it("refuses a list it cannot read", () => {
    expect(batchRecords(Uint8Array.from([0x0a, 0x05, 1, 2]))).toBeUndefined(); // runs past the end
    expect(batchRecords(Uint8Array.from([0x08, 0x01]))).toBeUndefined(); // records as a varint
    expect(batchRecords(Uint8Array.from([0x0b]))).toBeUndefined(); // a group
    expect(batchRecords(Uint8Array.from([0x00]))).toBeUndefined(); // field 0
    expect(
      batchRecords(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toBeUndefined();
  });

  it("agrees with protobuf-es on the records of any message it reads, and never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const parts = batchRecords(bytes);
        let decoded:
          | ReturnType<typeof fromBinary<typeof IngestBatchStreamRequestSchema>>
          | undefined;
        try {
          decoded = fromBinary(IngestBatchStreamRequestSchema, bytes);
        } catch {
          decoded = undefined;
        }
        // What protobuf-es cannot decode, the split must not take as a list of records that
        // decode; where both succeed they agree on the records.
        if (parts !== undefined && decoded !== undefined) {
          expect(parts.length).toBe(decoded.records.length);
        }
      }),
    );
  });
});
