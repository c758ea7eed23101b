import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  createIngestClient,
  type IngestClient,
  type IngestClientOptions,
  IngestError,
  IngestManyError,
  saleKey,
} from "../../src/client/index.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startPostgresProxy, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { until } from "../support/wait.js";

let proxy: TcpProxy;
let server: TestServer;
const clients: IngestClient[] = [];

beforeAll(async () => {
  proxy = await startPostgresProxy();
  server = await startTestServer({
    database: "postgres",
    viaPort: proxy.port,
    config: {
      // Small batches: a stream broken after 550 records has committed some and not others.
      batching: { streamBatchSize: 100, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      // A timeout no healthy query reaches on a loaded machine: a timed-out first write would be
      // retried, and the tests below count attempts.
      breaker: {
        timeoutMs: 2_000,
        errorThresholdPercent: 25,
        volumeThreshold: 2,
        resetTimeoutMs: 500,
        windowMs: 1_000,
      },
      rateLimit: {
        redis: undefined,
        redisCommandTimeoutMs: 250,
        defaults: { recordsPerSecond: 1_000_000, burst: 1_000_000 },
        // globex is throttled to test retries on RESOURCE_EXHAUSTED.
        tenants: { globex: { recordsPerSecond: 2, burst: 0 } },
        onRedisFailure: "insurance",
        maxStreamWaitMs: 0,
      },
    },
  });
});
afterAll(async () => {
  // After the server's stop: a connection aborted just before it can hold the stop to its
  // deadline (see clientsClosedAtFileEnd in connect-client.ts).
  await server?.stop();
  await proxy?.close();
  for (const c of clients) c.close();
});

function client(options: Partial<IngestClientOptions> = {}): IngestClient {
  const c = createIngestClient({
    baseUrl: server.baseUrl,
    apiKey: server.keys.acme,
    retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 40, maxElapsedMs: 20_000 },
    ...options,
  });
  clients.push(c);
  return c;
}

async function rowsUnder(tenant: string, keys: string[]): Promise<number> {
  const rows = await query<{ n: string }>(
    server.databaseUrl as string,
    "select count(*) as n from sales where tenant_id = $1 and idempotency_key = any($2)",
    [tenant, keys],
  );
  return Number(rows[0]?.n);
}

/** Reconnects the database and waits until a write goes through (the breaker has closed). */
async function heal(): Promise<void> {
  proxy.heal();
  await client().ingest(makeSale());
}

async function failureOf(call: Promise<unknown>): Promise<IngestError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof IngestError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("client: ingest", () => {
  it("keys a sale by its POS ids, so a second send is a duplicate of the first", async () => {
    const c = client();
    const sale = makeSale({ source: "acme-pos", locationId: "store 7/A" });
    const first = await c.ingest(sale);
    expect(first).toMatchObject({ outcome: "accepted", attempts: 1 });
    expect(first.idempotencyKey).toBe(`pos:acme-pos:store%207%2FA:${sale.saleId}`);
    expect(first.acceptedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const again = await c.ingest(sale);
    expect(again).toMatchObject({ outcome: "duplicate", recordId: first.recordId });
    expect(await rowsUnder("acme", [first.idempotencyKey])).toBe(1);
    const own = await c.ingest(makeSale(), { idempotencyKey: "caller-chosen-1" });
    expect(own.idempotencyKey).toBe("caller-chosen-1");
  });

  it("retries UNAVAILABLE while the database is away, honouring the delay, and stores once", async () => {
    const retries: { code: Code; delayMs: number; serverDelayMs: number | undefined }[] = [];
    const starts: number[] = [];
    const c = client({
      onRetry: (e, delayMs) =>
        retries.push({ code: e.code, delayMs, serverDelayMs: e.retryDelayMs }),
      interceptors: [
        (next) => (req) => {
          starts.push(performance.now());
          return next(req);
        },
      ],
    });
    const sale = makeSale();
    proxy.cut();
    const pending = c.ingest(sale);
    // Heal only once the client has been refused (and has retried) a few times.
    await until(async () => retries.length >= 2, { timeoutMs: 60_000 });
    proxy.heal();
    const result = await pending;
    expect(result.outcome).toBe("accepted");
    expect(result.attempts).toBeGreaterThan(1);
    expect(retries.length).toBe(result.attempts - 1);
    expect(retries.every((r) => r.code === Code.Unavailable)).toBe(true);
    // Every UNAVAILABLE carried a delay, and no attempt started sooner than the server asked.
    expect(retries.every((r) => r.serverDelayMs !== undefined)).toBe(true);
    retries.forEach((r, i) => {
      const gap = (starts[i + 1] ?? 0) - (starts[i] ?? 0);
      expect(gap).toBeGreaterThanOrEqual((r.serverDelayMs ?? 0) - 5);
    });
    expect(await rowsUnder("acme", [result.idempotencyKey])).toBe(1);
  });

  it("waits out RESOURCE_EXHAUSTED for the server's retry delay, then succeeds", async () => {
    const retries: IngestError[] = [];
    const c = client({ apiKey: server.keys.globex, onRetry: (e) => retries.push(e) });
    const sales = Array.from({ length: 4 }, () => makeSale());
    const started = performance.now();
    const results = [];
    for (const sale of sales) results.push(await c.ingest(sale));
    expect(results.every((r) => r.outcome === "accepted")).toBe(true);
    expect(retries.length).toBeGreaterThan(0);
    expect(
      retries.every((e) => e.code === Code.ResourceExhausted && (e.retryDelayMs ?? 0) > 0),
    ).toBe(true);
    // 4 records at 2/s: the last two waited for the next one-second window.
    expect(performance.now() - started).toBeGreaterThan(300);
    expect(
      await rowsUnder(
        "globex",
        results.map((r) => r.idempotencyKey),
      ),
    ).toBe(4);
  });

  it.each([
    ["INVALID_ARGUMENT", () => ({ sale: makeSale({ currency: "EURO" }), apiKey: undefined })],
    ["UNAUTHENTICATED", () => ({ sale: makeSale(), apiKey: "pik_nope" })],
  ])("does not retry %s", async (name, setup) => {
    const { sale, apiKey } = setup();
    let retried = 0;
    // validate: false, so that the server answers (the client's own check is in client-v2.test.ts).
    const c = client({ onRetry: () => retried++, validate: false, ...(apiKey && { apiKey }) });
    const err = await failureOf(c.ingest(sale));
    expect(Code[err.code]).toBe(
      name === "INVALID_ARGUMENT" ? "InvalidArgument" : "Unauthenticated",
    );
    expect(err.attempts).toBe(1);
    expect(retried).toBe(0);
    if (name === "INVALID_ARGUMENT") {
      expect(err.fieldViolations.map((v) => v.field)).toEqual(["sale.currency"]);
    }
  });

  it("does not retry FAILED_PRECONDITION: a key reused for another sale", async () => {
    let retried = 0;
    const c = client({ onRetry: () => retried++ });
    await c.ingest(makeSale(), { idempotencyKey: "client-reused" });
    const err = await failureOf(c.ingest(makeSale(), { idempotencyKey: "client-reused" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.retryable).toBe(false);
    expect(retried).toBe(0);
  });

  it("stops retrying at once when the caller aborts, with CANCELED", async () => {
    let retried = 0;
    // A 20 s backoff: an abort that did not end the wait would show as a 20 s call.
    const c = client({
      retry: { initialDelayMs: 20_000, maxDelayMs: 20_000, maxAttempts: 3, maxElapsedMs: 120_000 },
      onRetry: () => retried++,
    });
    proxy.cut();
    try {
      const abort = new AbortController();
      const pending = failureOf(c.ingest(makeSale(), { signal: abort.signal }));
      await until(async () => retried >= 1, { timeoutMs: 60_000 });
      const aborted = performance.now();
      abort.abort();
      const err = await pending;
      expect(err.code).toBe(Code.Canceled);
      expect(performance.now() - aborted).toBeLessThan(5_000);
    } finally {
      await heal();
    }
  });

  it("gives up after maxAttempts with the last error", async () => {
    const c = client({ retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
    proxy.cut();
    try {
      const err = await failureOf(c.ingest(makeSale()));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.attempts).toBe(2);
    } finally {
      await heal();
    }
  });
});

describe("client: ingestMany", () => {
  it("splits the input into streams, sums the counts, and returns every rejection with its sale", async () => {
    const c = client();
    const sales: Sale[] = Array.from({ length: 2_500 }, (_, i) =>
      i % 500 === 7 ? makeSale({ currency: "XXQ" }) : makeSale(),
    );
    const progress: number[] = [];
    const result = await c.ingestMany(sales, {
      streamSize: 1_000,
      onProgress: (p) => progress.push(p.received),
    });
    expect(result).toMatchObject({
      received: 2_500,
      accepted: 2_495,
      duplicate: 0,
      rejected: 5,
      streams: 3,
      resentStreams: 0,
    });
    expect(result.rejections.map((r) => [r.index, r.field])).toEqual(
      [7, 507, 1007, 1507, 2007].map((i) => [i, "sale.currency"]),
    );
    expect(result.rejections[2]?.sale).toBe(sales[1007]);
    expect(progress.sort((a, b) => a - b).at(-1)).toBe(2_500);
    expect(
      await rowsUnder(
        "acme",
        sales.map((s) => saleKey(s)),
      ),
    ).toBe(2_495);
  });

  it("resends a broken stream with the same keys and stores each sale once", async () => {
    // Breaks the first attempt of the first stream after 550 records, as a dropped connection
    // would: the server has committed some batches of it and not others. One record a message
    // (IngestStream); client-batch.test.ts breaks an IngestBatchStream between messages.
    const sales = Array.from({ length: 1_000 }, () => makeSale());
    const keys = sales.map((s) => saleKey(s));
    let broken = false;
    const breakOnce: Interceptor = (next) => async (req) => {
      if (!req.stream || broken) return next(req);
      broken = true;
      const source = req.message as AsyncIterable<unknown>;
      const cut = (async function* () {
        let n = 0;
        for await (const m of source) {
          if (n++ === 550) {
            // The connection "drops" once the server has committed the first 500.
            await until(async () => (await rowsUnder("acme", keys)) >= 500);
            throw new ConnectError("connection reset", Code.Unavailable);
          }
          yield m;
        }
      })();
      return next({ ...req, message: cut } as typeof req);
    };
    const c = client({ interceptors: [breakOnce] });
    const result = await c.ingestMany(sales, { streamSize: 1_000, recordsPerMessage: 1 });
    expect(broken).toBe(true);
    expect(result.resentStreams).toBe(1);
    expect(result.received).toBe(1_000);
    expect(result.rejected).toBe(0);
    // Records committed by the broken attempt come back as duplicates on the resend.
    expect(result.accepted + result.duplicate).toBe(1_000);
    expect(result.duplicate).toBeGreaterThanOrEqual(500);
    expect(await rowsUnder("acme", keys)).toBe(1_000);
  });

  it("deduplicates a rerun that chunks the same input differently", async () => {
    const c = client();
    const sales = Array.from({ length: 700 }, () => makeSale());
    await c.ingestMany(sales.slice(0, 400), { streamSize: 150 });
    const rerun = await c.ingestMany(sales, { streamSize: 333, concurrency: 3 });
    expect(rerun).toMatchObject({ received: 700, accepted: 300, duplicate: 400, rejected: 0 });
    expect(
      await rowsUnder(
        "acme",
        sales.map((s) => saleKey(s)),
      ),
    ).toBe(700);
  });

  it("fails with what was done so far when a stream fails for good", async () => {
    const c = client({ apiKey: "pik_not_a_key" });
    const err = await c.ingestMany([makeSale(), makeSale()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestManyError);
    const many = err as IngestManyError;
    expect(many.cause.code).toBe(Code.Unauthenticated);
    expect(many.partial).toMatchObject({ received: 0, accepted: 0, streams: 0 });
  });

  it("hands rejections to onRejection and, if asked, keeps them out of the result", async () => {
    const sales = [makeSale(), makeSale({ currency: "XXQ" }), makeSale()];
    const seen: number[] = [];
    const result = await client().ingestMany(sales, {
      collectRejections: false,
      onRejection: (r) => seen.push(r.index),
    });
    expect(result).toMatchObject({ accepted: 2, rejected: 1, rejections: [] });
    expect(seen).toEqual([1]);
  });

  it("reports the input's own error when the input fails midway", async () => {
    async function* broken() {
      for (let i = 0; i < 1_500; i++) yield makeSale();
      throw new Error("disk gone");
    }
    await expect(client().ingestMany(broken())).rejects.toThrow("disk gone");
  });

  it("resends streams cut by a real connection loss (a clean close reads as CANCELED)", async () => {
    const front = await startTcpProxy({ host: "127.0.0.1", port: server.port });
    try {
      const retried: Code[] = [];
      const c = client({
        baseUrl: `http://127.0.0.1:${front.port}`,
        onRetry: (e) => retried.push(e.code),
      });
      const sales = Array.from({ length: 3_000 }, () => makeSale());
      let cut = false;
      const result = await c.ingestMany(sales, {
        streamSize: 500,
        onProgress: () => {
          if (cut) return;
          cut = true;
          // Drops the connection under the streams still in flight; new connections succeed.
          front.cut();
          front.heal();
        },
      });
      expect(cut).toBe(true);
      expect(retried.length).toBeGreaterThan(0);
      expect(retried.every((code) => code === Code.Unavailable)).toBe(true);
      expect(result.resentStreams).toBeGreaterThan(0);
      expect(result).toMatchObject({ received: 3_000, rejected: 0 });
      expect(result.accepted + result.duplicate).toBe(3_000);
      expect(
        await rowsUnder(
          "acme",
          sales.map((s) => saleKey(s)),
        ),
      ).toBe(3_000);
    } finally {
      await front.close();
    }
  });

  it("sends nothing when the signal is already aborted", async () => {
    const sales = [makeSale(), makeSale()];
    const err = await client()
      .ingestMany(sales, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestManyError);
    expect((err as IngestManyError).cause.code).toBe(Code.Canceled);
    expect(
      await rowsUnder(
        "acme",
        sales.map((s) => saleKey(s)),
      ),
    ).toBe(0);
  });

  it("fails the load, without an unhandled rejection, when a callback throws", async () => {
    const err = await client()
      .ingestMany(
        Array.from({ length: 30 }, () => makeSale()),
        {
          streamSize: 10,
          onProgress: () => {
            throw new Error("callback bug");
          },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestManyError);
    expect((err as IngestManyError).message).toMatch(/callback bug/);
  });

  it("refuses, before sending, a sale over the size limit and a key that is not ASCII", async () => {
    const huge = makeSale({ attributes: { note: "x".repeat(2_000_000) } });
    const odd = makeSale();
    const fine = makeSale();
    const result = await client().ingestMany([huge, odd, fine], {
      keyOf: (s, i) => (s === odd ? "caf\u00e9" : saleKey(s) + i),
    });
    expect(result).toMatchObject({ received: 3, accepted: 1, rejected: 2 });
    expect(result.rejections.map((r) => [r.index, r.field])).toEqual([
      [0, "sale"],
      [1, "idempotency_key"],
    ]);
    expect(result.rejections[0]?.message).toMatch(/bytes encoded; the limit is/);
  });

  it("refuses a stream size over 1,000, where the server stops listing rejections", async () => {
    await expect(client().ingestMany([], { streamSize: 1_001 })).rejects.toThrow(RangeError);
  });
});

describe("client: health", () => {
  it("reports the server's and a named service's status", async () => {
    const c = client();
    expect(await c.health()).toBe("SERVING");
    expect(await c.health("readiness")).toBe("SERVING");
    const err = await failureOf(c.health("no-such-service"));
    expect(err.code).toBe(Code.NotFound);
  });
});
