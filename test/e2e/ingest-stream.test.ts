import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  type IngestRequest,
  IngestRequestSchema,
  IngestStreamResponseSchema,
  Outcome,
  RejectReason,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { sampleSum } from "../support/prometheus-text.js";
import { rawClient, rawClientStream, rawUnary } from "../support/raw-client.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";
import { eventually } from "../support/wait.js";

let server: TestServer;

beforeAll(async () => {
  // Small batches so a cut stream has committed some batches and not others.
  server = await startTestServer({
    database: "postgres",
    config: {
      batching: { streamBatchSize: 100, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function* requests(sales: Iterable<Sale>): AsyncGenerator<IngestRequest> {
  for (const sale of sales) yield create(IngestRequestSchema, { sale });
}

/** Streams the server has finished (answered and accounted for), whatever their outcome. */
async function finishedStreams(): Promise<number> {
  const port = (await server.app.listening).metricsPort;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return sampleSum(text, "ingest_stream_duration_seconds_count");
}

async function storedCount(tenant: string, keyPrefix: string): Promise<number> {
  const rows = await query<{ n: string }>(
    server.databaseUrl as string,
    "select count(*) as n from sales where tenant_id = $1 and starts_with(idempotency_key, $2)",
    [tenant, keyPrefix],
  );
  return Number(rows[0]?.n);
}

describe("IngestStream on PostgreSQL", () => {
  it("stores a stream of 10,000 sales, each under <stream key>/<offset>", async () => {
    const sales = Array.from({ length: 10_000 }, () => makeSale());
    const res = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "stream-10k"));
    expect(res).toMatchObject({
      received: 10_000n,
      accepted: 10_000n,
      duplicate: 0n,
      rejected: 0n,
    });
    expect(res.idempotencyKey).toBe("stream-10k");
    expect(await storedCount("acme", "stream-10k/")).toBe(10_000);
    const [row] = await query<{ sale_id: string }>(
      server.databaseUrl as string,
      "select sale_id from sales where tenant_id = 'acme' and idempotency_key = 'stream-10k/9999'",
    );
    expect(row?.sale_id).toBe(sales[9_999]?.saleId);
  });

  it("answers a resent stream with duplicates and stores nothing twice", async () => {
    const sales = Array.from({ length: 250 }, () => makeSale());
    const first = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "stream-resend"));
    const again = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "stream-resend"));
    expect(first).toMatchObject({ accepted: 250n, duplicate: 0n });
    expect(again).toMatchObject({ received: 250n, accepted: 0n, duplicate: 250n, rejected: 0n });
    expect(await storedCount("acme", "stream-resend/")).toBe(250);
  });

  it("stores each record once when a stream cut mid-way is resent in full", async () => {
    const sales = Array.from({ length: 2_000 }, () => makeSale());
    const abort = new AbortController();
    async function* cutAfter(n: number): AsyncGenerator<IngestRequest> {
      let i = 0;
      for (const sale of sales) {
        if (i++ === n) {
          // Cut only once the server has committed some batches, however slow the machine.
          const some = async () => (await storedCount("acme", "stream-cut/")) > 0;
          if (!(await eventually(some, true, 30_000))) throw new Error("nothing committed");
          abort.abort();
          return;
        }
        yield create(IngestRequestSchema, { sale });
      }
    }
    const finishedBefore = await finishedStreams();
    await expect(
      server.client().ingestStream(cutAfter(1_000), {
        ...auth(server.keys.acme, "stream-cut"),
        signal: abort.signal,
      }),
    ).rejects.toThrow();
    // The client gives up at once; count what is stored only once the server has finished the
    // stream on its side too.
    await eventually(async () => (await finishedStreams()) > finishedBefore, true, 30_000);
    const committedBeforeResend = await storedCount("acme", "stream-cut/");
    expect(committedBeforeResend).toBeGreaterThan(0);
    expect(committedBeforeResend).toBeLessThanOrEqual(1_000);

    const res = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "stream-cut"));
    expect(res.received).toBe(2_000n);
    expect(res.duplicate).toBe(BigInt(committedBeforeResend));
    expect(res.accepted).toBe(BigInt(2_000 - committedBeforeResend));
    expect(await storedCount("acme", "stream-cut/")).toBe(2_000);
  });

  it("stores the valid records and reports each invalid one by offset (partial success)", async () => {
    const sales = Array.from({ length: 10 }, (_, i) =>
      i === 3 ? makeSale({ currency: "XXQ" }) : i === 7 ? makeSale({ locationId: "" }) : makeSale(),
    );
    const res = await server
      .client()
      .ingestStream(requests(sales), auth(server.keys.acme, "stream-partial"));
    expect(res).toMatchObject({ received: 10n, accepted: 8n, duplicate: 0n, rejected: 2n });
    expect(res.rejections.map((r) => [r.offset, r.reason, r.field])).toEqual([
      [3n, RejectReason.INVALID_ARGUMENT, "sale.currency"],
      [7n, RejectReason.INVALID_ARGUMENT, "sale.location_id"],
    ]);
    expect(await storedCount("acme", "stream-partial/")).toBe(8);
  });

  it("rejects a resent offset that carries a different sale and keeps the original", async () => {
    const sales = [makeSale(), makeSale()];
    await server.client().ingestStream(requests(sales), auth(server.keys.acme, "stream-conflict"));
    const changed = [sales[0] as Sale, makeSale()];
    const res = await server
      .client()
      .ingestStream(requests(changed), auth(server.keys.acme, "stream-conflict"));
    expect(res).toMatchObject({ received: 2n, accepted: 0n, duplicate: 1n, rejected: 1n });
    expect(res.rejections[0]).toMatchObject({
      offset: 1n,
      reason: RejectReason.IDEMPOTENCY_CONFLICT,
    });
    const [row] = await query<{ sale_id: string }>(
      server.databaseUrl as string,
      "select sale_id from sales where tenant_id = 'acme' and idempotency_key = 'stream-conflict/1'",
    );
    expect(row?.sale_id).toBe(sales[1]?.saleId);
  });

  it("keys records by content when the stream has no key, deduplicating repeats", async () => {
    const sale = makeSale();
    const other = makeSale();
    const res = await server
      .client()
      .ingestStream(requests([sale, other, sale]), auth(server.keys.acme));
    expect(res).toMatchObject({
      received: 3n,
      accepted: 2n,
      duplicate: 1n,
      rejected: 0n,
      idempotencyKey: "",
    });
    const again = await server.client().ingestStream(requests([other]), auth(server.keys.acme));
    expect(again).toMatchObject({ accepted: 0n, duplicate: 1n });
  });

  it("keys a record by its own idempotency_key wherever a resend puts it", async () => {
    const sales = Array.from({ length: 300 }, () => makeSale());
    const keyed = (s: Sale) =>
      create(IngestRequestSchema, { sale: s, idempotencyKey: `own/${s.saleId}` });
    const first = await server.client().ingestStream(
      (async function* () {
        for (const s of sales.slice(0, 200)) yield keyed(s);
      })(),
      auth(server.keys.acme, "own-a"),
    );
    expect(first).toMatchObject({ accepted: 200n, duplicate: 0n, rejected: 0n });
    // The resend is chunked differently, reversed, under another stream key: same records.
    const resend = await server.client().ingestStream(
      (async function* () {
        for (const s of [...sales].reverse()) yield keyed(s);
      })(),
      auth(server.keys.acme, "own-b"),
    );
    expect(resend).toMatchObject({ received: 300n, accepted: 100n, duplicate: 200n, rejected: 0n });
    expect(await storedCount("acme", "own/")).toBe(300);
    expect(await storedCount("acme", "own-a/")).toBe(0);
    // Unary calls share the key space: the same key and sale is a duplicate.
    const unary = await server
      .client()
      .ingest(
        { sale: sales[5] as Sale, idempotencyKey: `own/${sales[5]?.saleId}` },
        auth(server.keys.acme),
      );
    expect(unary.outcome).toBe(Outcome.DUPLICATE);
  });

  it("rejects a record whose own idempotency_key is malformed, by offset and field", async () => {
    const res = await server.client().ingestStream(
      (async function* () {
        yield create(IngestRequestSchema, { sale: makeSale(), idempotencyKey: "fine" });
        yield create(IngestRequestSchema, { sale: makeSale(), idempotencyKey: "k".repeat(256) });
        yield create(IngestRequestSchema, { sale: makeSale(), idempotencyKey: "caf\u00e9" });
      })(),
      auth(server.keys.acme, "own-bad"),
    );
    expect(res).toMatchObject({ received: 3n, accepted: 1n, rejected: 2n });
    expect(res.rejections.map((r) => [r.offset, r.reason, r.field])).toEqual([
      [1n, RejectReason.INVALID_ARGUMENT, "idempotency_key"],
      [2n, RejectReason.INVALID_ARGUMENT, "idempotency_key"],
    ]);
  });

  it("stores the first of repeats that span batches written concurrently", async () => {
    // 60 distinct sales cycled over 250 records: every batch of 100 repeats keys of the batch
    // before it, which may still be in flight.
    const distinct = Array.from({ length: 60 }, () => makeSale());
    const sales = Array.from({ length: 250 }, (_, i) => distinct[i % 60] as Sale);
    const res = await server.client().ingestStream(requests(sales), auth(server.keys.acme));
    expect(res).toMatchObject({ received: 250n, accepted: 60n, duplicate: 190n, rejected: 0n });
  });

  it("keeps the earlier record when a key is reused across batches written concurrently", async () => {
    // Batches of 100: records 150-299 reuse the keys of records 0-149 with other sales, so the
    // second and third batches repeat keys of batches that may still be in flight, and must not
    // overtake them.
    const sales = Array.from({ length: 300 }, () => makeSale());
    const res = await server.client().ingestStream(
      (async function* () {
        for (const [i, sale] of sales.entries()) {
          yield create(IngestRequestSchema, { sale, idempotencyKey: `reuse/${i % 150}` });
        }
      })(),
      auth(server.keys.acme),
    );
    expect(res).toMatchObject({ received: 300n, accepted: 150n, rejected: 150n });
    expect(res.rejections.map((r) => Number(r.offset))).toEqual(
      Array.from({ length: 150 }, (_, i) => 150 + i),
    );
    const stored = await query<{ idempotency_key: string; sale_id: string }>(
      server.databaseUrl as string,
      "select idempotency_key, sale_id from sales where tenant_id = 'acme' and starts_with(idempotency_key, 'reuse/')",
    );
    expect(new Map(stored.map((r) => [r.idempotency_key, r.sale_id]))).toEqual(
      new Map(sales.slice(0, 150).map((s, i) => [`reuse/${i}`, s.saleId])),
    );
  });

  it("answers an empty stream with zero counts", async () => {
    const res = await server
      .client()
      .ingestStream(requests([]), auth(server.keys.acme, "stream-empty"));
    expect(res).toMatchObject({ received: 0n, accepted: 0n, duplicate: 0n, rejected: 0n });
  });

  it("refuses a stream without credentials before storing anything", async () => {
    await expect(
      server.client().ingestStream(requests([makeSale()]), { headers: {} }),
    ).rejects.toMatchObject({
      code: 16,
    });
  });
});

describe("hostile bytes", () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x07, 0x42]);

  it("answers INVALID_ARGUMENT to garbage bytes as a unary request, and keeps serving", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const { error } = await rawUnary(
      client,
      "/pos.ingest.v1.IngestService/Ingest",
      garbage,
      auth(server.keys.acme).headers,
    );
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    const good = Buffer.from(
      toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale: makeSale() })),
    );
    const ok = await rawUnary(
      client,
      "/pos.ingest.v1.IngestService/Ingest",
      good,
      auth(server.keys.acme).headers,
    );
    expect(ok.error).toBeNull();
  });

  it("rejects a garbage message inside a stream as MALFORMED and stores the rest", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const encode = (sale: Sale) =>
      Buffer.from(toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale })));
    const { error, response } = await rawClientStream(
      client,
      "/pos.ingest.v1.IngestService/IngestStream",
      [encode(makeSale()), garbage, encode(makeSale())],
      auth(server.keys.acme, "stream-garbage").headers,
    );
    expect(error).toBeNull();
    const res = fromBinary(IngestStreamResponseSchema, response as Buffer);
    expect(res).toMatchObject({ received: 3n, accepted: 2n, rejected: 1n });
    expect(res.rejections[0]).toMatchObject({ offset: 1n, reason: RejectReason.MALFORMED });
  });

  it("answers RESOURCE_EXHAUSTED to a message over the size limit, and keeps serving", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const { error } = await rawUnary(
      client,
      "/pos.ingest.v1.IngestService/Ingest",
      Buffer.alloc(2 * 1024 * 1024, 1),
      auth(server.keys.acme).headers,
    );
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const res = await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme));
    expect(res.recordId).not.toBe("");
  });

  it("answers UNIMPLEMENTED for an unknown method", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const { error } = await rawUnary(client, "/pos.ingest.v1.IngestService/Nope", garbage, {});
    expect(error?.code).toBe(status.UNIMPLEMENTED);
  });
});
