import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { STREAM_BATCH_MAX_BYTES } from "../../src/ingest/service.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

// Real wholesale orders run to thousands of lines (issue 11): the default MAX_LINE_ITEMS is 5,000,
// and a stream of such orders is batched by bytes as well as by records.

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A wholesale order of `n` lines with `nameLength`-character names. */
function order(n: number, nameLength = 40) {
  return makeSale({
    lineItems: Array.from({ length: n }, (_, i) => ({
      sku: `SKU-${String(i).padStart(6, "0")}`,
      name: `Item ${i} `.padEnd(nameLength, "x"),
      quantityMilli: 12_000n,
      unitPriceMinor: 255n,
      discountMinor: 0n,
      taxMinor: 61n,
    })),
  });
}

/** The stream batches the server has written so far, and the rows in them. */
async function streamBatches(): Promise<{ count: number; rows: number }> {
  const metric = await server.app.metrics.registry.getSingleMetric("ingest_batch_size")?.get();
  // A histogram's values carry the series name (_count, _sum) that the general type leaves out.
  const values = (metric?.values ?? []) as {
    metricName?: string;
    labels: Record<string, unknown>;
    value: number;
  }[];
  const of = (name: string) =>
    values.find((v) => v.metricName === name && v.labels.path === "stream")?.value ?? 0;
  return { count: of("ingest_batch_size_count"), rows: of("ingest_batch_size_sum") };
}

describe("wholesale orders", () => {
  it("takes an order of 5,000 lines, well inside the message limit, and refuses 5,001", async () => {
    const sale = order(5_000);
    expect(toBinary(SaleSchema, sale).length).toBeLessThan(1024 * 1024);
    const res = await server.client().ingest({ sale }, auth(server.keys.acme));
    const stored = await query<{ n: string }>(
      server.databaseUrl as string,
      "select count(*)::text as n from sales where id = $1",
      [res.recordId],
    );
    expect(stored[0]?.n).toBe("1");

    const err = await failure(
      server.client().ingest({ sale: order(5_001) }, auth(server.keys.acme)),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    const violations = err.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];
    expect(violations.map((v) => v.field)).toEqual(["sale.line_items"]);
  });

  it("closes a stream batch at the byte bound, so big orders never pile up in memory", async () => {
    // ~0.6 MiB each: 16 of them are ~10 MiB, so three or more batches rather than one.
    const sales = Array.from({ length: 16 }, () => order(5_000, 100));
    const bytes = sales.reduce((n, s) => n + toBinary(SaleSchema, s).length, 0);
    expect(bytes).toBeGreaterThan(2 * STREAM_BATCH_MAX_BYTES);
    const before = await streamBatches();
    async function* requests(): AsyncGenerator<IngestRequest> {
      for (const sale of sales) yield create(IngestRequestSchema, { sale });
    }
    const res = await server
      .client()
      .ingestStream(requests(), auth(server.keys.acme, `wholesale-${Date.now()}`));
    expect(res).toMatchObject({ received: 16n, accepted: 16n, rejected: 0n });
    const after = await streamBatches();
    expect(after.rows - before.rows).toBe(16);
    const perBatch = Math.ceil(STREAM_BATCH_MAX_BYTES / (bytes / 16));
    expect(after.count - before.count).toBeGreaterThanOrEqual(Math.ceil(16 / perBatch));
  });
});
