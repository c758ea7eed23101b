import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { IngestBatchStreamRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  type BatchInit,
  batchMessages,
  recordBytes,
  type StreamRecord,
} from "../../src/client/batch-messages.js";
import { measureSale } from "../../src/client/sale-size.js";
import { makeSale } from "../support/fixtures.js";

/** Records with the sale's exact encoded size, keyed or not, of sizes across varint widths. */
function records(n: number): StreamRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const sale = makeSale({ attributes: { note: "x".repeat((i * 37) % 1_000) } });
    return {
      sale,
      key: i % 3 === 0 ? "" : `k-${"y".repeat(i % 200)}`,
      saleBytes: toBinary(SaleSchema, sale).length,
    };
  });
}

async function collect(source: AsyncIterable<BatchInit>): Promise<BatchInit[]> {
  const out: BatchInit[] = [];
  for await (const m of source) out.push(m);
  return out;
}

const encoded = (m: BatchInit) =>
  toBinary(IngestBatchStreamRequestSchema, create(IngestBatchStreamRequestSchema, m)).length;

describe("batchMessages", () => {
  it("counts a record's bytes in a batch message exactly, given the sale's exact size", () => {
    for (const r of records(60)) {
      expect(recordBytes(r)).toBe(encoded({ records: [{ sale: r.sale, idempotencyKey: r.key }] }));
    }
  });

  it("keeps the records in order, at most recordsPerMessage and maxMessageBytes a message", async () => {
    const input = records(300);
    const maxMessageBytes = 20_000;
    const messages = await collect(
      batchMessages(input, { recordsPerMessage: 50, maxMessageBytes }),
    );
    expect(messages.flatMap((m) => m.records?.map((r) => r.sale))).toEqual(
      input.map((r) => r.sale),
    );
    for (const m of messages) {
      expect(m.records?.length).toBeLessThanOrEqual(50);
      expect(encoded(m)).toBeLessThanOrEqual(maxMessageBytes);
    }
    // Full messages: the next record would not have fitted.
    let at = 0;
    for (const m of messages.slice(0, -1)) {
      const n = m.records?.length ?? 0;
      at += n;
      const next = input[at] as StreamRecord;
      expect(n === 50 || encoded(m) + recordBytes(next) > maxMessageBytes).toBe(true);
    }
  });

  it("sends a record too large to share a message alone, and never an empty message", async () => {
    const input = records(5);
    const messages = await collect(
      batchMessages(input, { recordsPerMessage: 500, maxMessageBytes: 1 }),
    );
    expect(messages.map((m) => m.records?.length)).toEqual([1, 1, 1, 1, 1]);
    expect(
      await collect(batchMessages([], { recordsPerMessage: 500, maxMessageBytes: 1_000 })),
    ).toEqual([]);
  });

  it("bounds a sale's size from above (measureSale), exactly once the bound passes the limit", () => {
    for (const r of records(60)) {
      const bound = measureSale(r.sale, 1 << 20) as number;
      expect(bound).toBeGreaterThanOrEqual(r.saleBytes);
      // Limits at and under the exact size: past the bound, the sale is encoded to know.
      expect(measureSale(r.sale, r.saleBytes)).toBe(r.saleBytes);
      expect(measureSale(r.sale, r.saleBytes - 1)).toMatch(/bytes encoded; the limit is/);
    }
  });
});
