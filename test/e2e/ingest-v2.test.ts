import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  type IngestRequest,
  IngestRequestSchema,
  IngestResponseSchema,
  Outcome,
  RejectReason,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { failure as rejectionOf } from "../support/calls.js";
import { query } from "../support/database.js";
import { rawClient, rawUnary } from "../support/raw-client.js";
import {
  berlinBakery,
  berlinExchange,
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  restaurantWithTip,
  zurichKiosk,
} from "../support/receipts-v2.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

/**
 * v2 transactions through the real server: accepted by unary and by stream, and stored as sent,
 * every v2 field kept (the fast decoder and the canonical check fall back to fromBinary and
 * re-encoding for them).
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
});
afterAll(async () => {
  await server?.stop();
});

/** Fresh receipts of every kind, with fresh ids so each test stores its own. */
function receipts(): [string, Sale][] {
  const sale = chicagoStore();
  const zurich = zurichKiosk();
  return [
    ["a VAT sale", berlinBakery()],
    ["a US two-tax sale", sale],
    ["a return with its original", chicagoReturn({ originalSaleId: sale.saleId })],
    ["a return without receipt", chicagoReturn()],
    ["an exchange", berlinExchange()],
    ["a cash sale with change and rounding", zurich],
    ["a post-void", postVoidOf(zurich)],
    ["a restaurant check with tip", restaurantWithTip()],
  ];
}

async function storedSale(tenant: string, key: string): Promise<Sale | undefined> {
  const rows = await query<{ sale: Buffer; total_minor: string }>(
    server.databaseUrl as string,
    "select sale, total_minor from sales where tenant_id = $1 and idempotency_key = $2",
    [tenant, key],
  );
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0] ? fromBinary(SaleSchema, rows[0].sale) : undefined;
}

async function* requests(sales: Iterable<Sale>): AsyncGenerator<IngestRequest> {
  for (const sale of sales) yield create(IngestRequestSchema, { sale });
}

describe("v2 transactions (unary)", () => {
  it.each(receipts())("accepts %s and stores it as sent", async (name, sale) => {
    const key = `v2-unary-${name.replaceAll(" ", "-")}-${sale.saleId}`;
    const res = await server.client().ingest({ sale }, auth(server.keys.acme, key));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
    const stored = await storedSale("acme", key);
    expect(stored).toEqual(sale);
    // The v2 fields made it through, not only the v1 ones.
    expect(toBinary(SaleSchema, stored as Sale)).toEqual(toBinary(SaleSchema, sale));
    // Retried with the same key and payload: a duplicate, the canonical check agreeing.
    const again = await server.client().ingest({ sale }, auth(server.keys.acme, key));
    expect(again.outcome).toBe(Outcome.DUPLICATE);
    expect(again.recordId).toBe(res.recordId);
  });

  it("accepts v2 bytes straight off the wire (grpc-js, no generated client)", async () => {
    const sale = zurichKiosk();
    const body = Buffer.from(toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale })));
    const client = rawClient(server.port);
    try {
      const { error, response } = await rawUnary(
        client,
        "/pos.ingest.v1.IngestService/Ingest",
        body,
        auth(server.keys.acme, "v2-raw-zurich").headers,
      );
      expect(error).toBeNull();
      expect(fromBinary(IngestResponseSchema, response as Buffer).outcome).toBe(Outcome.ACCEPTED);
    } finally {
      client.close();
    }
    expect(await storedSale("acme", "v2-raw-zurich")).toEqual(sale);
  });

  it("refuses a v2 sale that does not add up, naming the field", async () => {
    const sale = zurichKiosk();
    const cash = sale.payments[0];
    if (cash) cash.changeMinor = 604n;
    const err = await rejectionOf(
      server.client().ingest({ sale }, auth(server.keys.acme, "v2-bad")),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    const [badRequest] = err.findDetails(BadRequestSchema);
    expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual([
      "sale.payments[0].change_minor",
    ]);
    expect(await storedSale("acme", "v2-bad")).toBeUndefined();
  });
});

describe("v2 transactions (stream)", () => {
  it("accepts every kind in one stream and stores each as sent", async () => {
    const all = receipts();
    const sales = all.map(([, s]) => s);
    const res = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "v2-stream"));
    expect(res).toMatchObject({
      received: BigInt(sales.length),
      accepted: BigInt(sales.length),
      rejected: 0n,
    });
    for (const [i, sale] of sales.entries()) {
      expect(await storedSale("acme", `v2-stream/${i}`), all[i]?.[0]).toEqual(sale);
    }
  });

  it("refuses the one that does not add up, naming its field, and stores the others", async () => {
    const bad = berlinBakery();
    const vat = bad.lineItems[0]?.taxes[0];
    if (vat) vat.amountMinor = 22n;
    const sales = [restaurantWithTip(), bad, chicagoReturn()];
    const res = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "v2-stream-bad"));
    expect(res).toMatchObject({ received: 3n, accepted: 2n, rejected: 1n });
    expect(res.rejections.map((r) => [r.offset, r.reason, r.field])).toEqual([
      [1n, RejectReason.INVALID_ARGUMENT, "sale.line_items[0].taxes[0].amount_minor"],
    ]);
    expect(await storedSale("acme", "v2-stream-bad/0")).toEqual(sales[0]);
    expect(await storedSale("acme", "v2-stream-bad/1")).toBeUndefined();
    expect(await storedSale("acme", "v2-stream-bad/2")).toEqual(sales[2]);
  });
});
