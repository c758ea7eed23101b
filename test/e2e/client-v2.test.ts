import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  Code,
  createIngestClient,
  type IngestClient,
  type IngestClientOptions,
  IngestError,
  saleKey,
} from "../../src/client/index.js";
import { query } from "../support/database.js";
import { allReceipts, postVoidOf, zurichKiosk } from "../support/receipts-v2.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The client library with v2 transactions: every kind goes through, a post-void gets a key of its
 * own, and a sale the server would refuse is refused before sending, in the server's own words.
 */
let server: TestServer;
const clients: IngestClient[] = [];
let calls = 0;
const countCalls: Interceptor = (next) => (req) => {
  calls++;
  return next(req);
};

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
});
afterAll(async () => {
  // After the server's stop: a connection aborted just before it can hold the stop to its
  // deadline (see clientsClosedAtFileEnd in connect-client.ts).
  await server?.stop();
  for (const c of clients) c.close();
});

function client(options: Partial<IngestClientOptions> = {}): IngestClient {
  const c = createIngestClient({
    baseUrl: server.baseUrl,
    apiKey: server.keys.acme,
    interceptors: [countCalls],
    ...options,
  });
  clients.push(c);
  return c;
}

async function failureOf(p: Promise<unknown>): Promise<IngestError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IngestError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

async function storedKeys(keys: string[]): Promise<string[]> {
  const rows = await query<{ idempotency_key: string }>(
    server.databaseUrl as string,
    "select idempotency_key from sales where tenant_id = 'acme' and idempotency_key = any($1) order by 1",
    [keys],
  );
  return rows.map((r) => r.idempotency_key);
}

describe("client with v2 transactions", () => {
  it("ingests every kind, one by one, under the POS's own keys", async () => {
    const c = client();
    const sales = Object.values(allReceipts());
    for (const sale of sales) {
      expect((await c.ingest(sale)).outcome).toBe("accepted");
    }
    const keys = sales.map((s) => saleKey(s));
    expect(await storedKeys(keys)).toEqual([...keys].sort());
  });

  it("keys a post-void apart from the sale it voids, even under the same receipt number", async () => {
    const c = client();
    const sale = zurichKiosk();
    // Some POS give the void the receipt number of the sale it voids.
    const voided = postVoidOf(sale, { saleId: sale.saleId });
    expect(voided.kind).toBe(TransactionKind.POST_VOID);
    const first = await c.ingest(sale);
    const second = await c.ingest(voided);
    expect([first.outcome, second.outcome]).toEqual(["accepted", "accepted"]);
    expect(second.idempotencyKey).toBe(`${first.idempotencyKey}:post-void`);
  });

  it("ingests every kind in streams", async () => {
    const sales = Array.from({ length: 5 }, () => Object.values(allReceipts())).flat();
    const result = await client().ingestMany(sales, { streamSize: 7 });
    expect(result).toMatchObject({ received: 40, accepted: 40, rejected: 0, streams: 6 });
  });
});

describe("client pre-validation", () => {
  function badChange() {
    const sale = zurichKiosk();
    const cash = sale.payments[0];
    if (cash) cash.changeMinor = 604n;
    return sale;
  }

  it("refuses before sending, exactly as the server would", async () => {
    const sale = badChange();
    const before = calls;
    const local = await failureOf(client().ingest(sale));
    expect(calls).toBe(before);
    expect(local.attempts).toBe(0);
    const remote = await failureOf(client({ validate: false }).ingest(sale));
    expect(calls).toBe(before + 1);
    expect(remote.attempts).toBe(1);
    for (const err of [local, remote]) {
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.retryable).toBe(false);
    }
    expect(local.fieldViolations).toEqual(remote.fieldViolations);
    expect(local.fieldViolations.map((v) => v.field)).toEqual(["sale.payments[0].change_minor"]);
    expect(local.rawMessage).toBe(remote.rawMessage);
    expect(await storedKeys([saleKey(sale)])).toEqual([]);
  });

  it("leaves the future-skew check to the server's clock", async () => {
    const sale = zurichKiosk({ occurredAt: new Date(Date.now() + 3_600_000) });
    const err = await failureOf(client().ingest(sale));
    expect(err.attempts).toBe(1);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["sale.occurred_at"]);
  });

  it("refuses in ingestMany with the record's index, and sends only the rest", async () => {
    const sales = [zurichKiosk(), badChange(), zurichKiosk()];
    const local = await client().ingestMany(sales);
    expect(local).toMatchObject({ received: 3, accepted: 2, rejected: 1, streams: 1 });
    expect(local.rejections.map((r) => [r.index, r.field, r.reason])).toEqual([
      [1, "sale.payments[0].change_minor", "invalid_argument"],
    ]);
    const remote = await client({ validate: false }).ingestMany([badChange()]);
    expect(remote).toMatchObject({ received: 1, rejected: 1, streams: 1 });
    expect(remote.rejections[0]?.message).toBe(local.rejections[0]?.message);
    const none = await client().ingestMany([badChange(), badChange()]);
    expect(none).toMatchObject({ received: 2, rejected: 2, streams: 0 });
  });
});
