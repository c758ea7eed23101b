import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Client as GrpcClient,
  Metadata,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type ServerReadableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type IngestBatchStreamRequest,
  IngestBatchStreamRequestSchema,
  IngestService,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  createIngestClient,
  type IngestClient,
  type IngestClientOptions,
  saleKey,
} from "../../src/client/index.js";
import { type Received, toGrpcServiceDefinition } from "../../src/grpc/service-adapter.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { rawClient } from "../support/raw-client.js";
import { startTestServer, type TestServer, testConfig } from "../support/server.js";
import { until } from "../support/wait.js";

// ingestMany sends IngestBatchStream by default: what goes on the wire (messages of several
// records, within the message limit), what the real server counts and stores, and the fallback
// to IngestStream against a server that predates IngestBatchStream.

let server: TestServer;
const clients: IngestClient[] = [];

beforeAll(async () => {
  // Database batches of 100 that do not line up with the messages, so a stream broken between
  // messages has committed part of what it sent.
  server = await startTestServer({
    database: "postgres",
    config: {
      batching: { streamBatchSize: 100, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  for (const c of clients) c.close();
});

function client(options: Partial<IngestClientOptions> = {}, on = server): IngestClient {
  const c = createIngestClient({
    baseUrl: on.baseUrl,
    apiKey: on.keys.acme,
    retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 20, maxElapsedMs: 20_000 },
    ...options,
  });
  clients.push(c);
  return c;
}

async function rowsFor(on: TestServer, sales: readonly Sale[]): Promise<number> {
  const rows = await query<{ n: string }>(
    on.databaseUrl as string,
    "select count(*) as n from sales where tenant_id = 'acme' and idempotency_key = any($1)",
    [sales.map((s) => saleKey(s))],
  );
  return Number(rows[0]?.n);
}

/** Calls of `method` the server has answered, by code (grpc_server_handled_total). */
async function handled(on: TestServer, method: string): Promise<Record<string, number>> {
  const { values } = await on.app.metrics.grpcHandled.get();
  return Object.fromEntries(
    values.filter((v) => v.labels.grpc_method === method).map((v) => [v.labels.grpc_code, v.value]),
  );
}

/** What the client put on the wire: per call, its method and its messages' record counts. */
interface Wire {
  readonly calls: { method: string; records: number[]; bytes: number[]; code?: Code }[];
  readonly interceptor: Interceptor;
}

function wire(): Wire {
  const calls: Wire["calls"] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    if (!req.stream) return next(req);
    const call: Wire["calls"][number] = { method: req.method.name, records: [], bytes: [] };
    calls.push(call);
    const source = req.message as AsyncIterable<object>;
    const seen = (async function* () {
      for await (const m of source) {
        if (req.method.name === "IngestBatchStream") {
          const batch = m as IngestBatchStreamRequest;
          call.records.push(batch.records.length);
          call.bytes.push(toBinary(IngestBatchStreamRequestSchema, batch).length);
        } else {
          call.records.push(1);
        }
        yield m;
      }
    })();
    try {
      return await next({ ...req, message: seen } as typeof req);
    } catch (err) {
      call.code = ConnectError.from(err).code;
      throw err;
    }
  };
  return { calls, interceptor };
}

describe("ingestMany over IngestBatchStream", () => {
  it("sends streams of batch messages by default, stores each sale once, and maps rejections back", async () => {
    const before = await handled(server, "IngestBatchStream");
    const beforeSingle = await handled(server, "IngestStream");
    const w = wire();
    const c = client({ interceptors: [w.interceptor] });
    // Bad sales in several messages of several streams, at offsets that are not message starts.
    const bad = new Set([3, 499, 500, 777, 1_234, 2_499]);
    const sales = Array.from({ length: 2_500 }, (_, i) =>
      bad.has(i) ? makeSale({ currency: "XXQ" }) : makeSale(),
    );
    const result = await c.ingestMany(sales, { streamSize: 1_000, validate: false });
    expect(result).toMatchObject({ received: 2_500, accepted: 2_494, rejected: 6, streams: 3 });
    expect(result.rejections.map((r) => [r.index, r.field])).toEqual(
      [...bad].map((i) => [i, "sale.currency"]),
    );
    for (const r of result.rejections) expect(r.sale).toBe(sales[r.index]);
    expect(await rowsFor(server, sales)).toBe(2_494);

    // Streams of 1,000, 1,000 and 500 records, 500 a message.
    expect(w.calls.map((call) => [call.method, call.records])).toEqual([
      ["IngestBatchStream", [500, 500]],
      ["IngestBatchStream", [500, 500]],
      ["IngestBatchStream", [500]],
    ]);
    const after = await handled(server, "IngestBatchStream");
    expect((after.OK ?? 0) - (before.OK ?? 0)).toBe(3);
    expect(await handled(server, "IngestStream")).toEqual(beforeSingle);
  });

  it("sends IngestStream, one record a message, with recordsPerMessage: 1", async () => {
    const before = await handled(server, "IngestBatchStream");
    const beforeSingle = await handled(server, "IngestStream");
    const w = wire();
    const sales = Array.from({ length: 30 }, () => makeSale());
    const result = await client({ interceptors: [w.interceptor] }).ingestMany(sales, {
      streamSize: 20,
      recordsPerMessage: 1,
    });
    expect(result).toMatchObject({ received: 30, accepted: 30, streams: 2 });
    expect(w.calls.map((call) => [call.method, call.records.length])).toEqual([
      ["IngestStream", 20],
      ["IngestStream", 10],
    ]);
    expect(await handled(server, "IngestBatchStream")).toEqual(before);
    const after = await handled(server, "IngestStream");
    expect((after.OK ?? 0) - (beforeSingle.OK ?? 0)).toBe(2);
    expect(await rowsFor(server, sales)).toBe(30);
  });

  it("resends a stream broken between messages under the same keys: nothing stored twice", async () => {
    const sales = Array.from({ length: 1_000 }, () => makeSale());
    let broken = false;
    // Cuts the first attempt once 400 records (two messages) are sent and committed, before the
    // third message: the resend then finds those 400 stored.
    const breakOnce: Interceptor = (next) => async (req) => {
      if (!req.stream || broken) return next(req);
      broken = true;
      const source = req.message as AsyncIterable<IngestBatchStreamRequest>;
      const cut = (async function* () {
        let sent = 0;
        for await (const m of source) {
          if (sent + m.records.length > 550) {
            await until(async () => (await rowsFor(server, sales)) >= 400);
            throw new ConnectError("connection reset", Code.Unavailable);
          }
          sent += m.records.length;
          yield m;
        }
      })();
      return next({ ...req, message: cut } as typeof req);
    };
    const w = wire();
    const c = client({ interceptors: [breakOnce, w.interceptor] });
    const result = await c.ingestMany(sales, { streamSize: 1_000, recordsPerMessage: 200 });
    expect(broken).toBe(true);
    expect(w.calls.map((call) => call.method)).toEqual(["IngestBatchStream", "IngestBatchStream"]);
    expect(result).toMatchObject({ received: 1_000, rejected: 0, resentStreams: 1 });
    expect(result.accepted + result.duplicate).toBe(1_000);
    expect(result.duplicate).toBeGreaterThanOrEqual(400);
    expect(await rowsFor(server, sales)).toBe(1_000);
  });

  it("keeps every message within maxMessageBytes on a server with the same small limit", async () => {
    const limit = 64 * 1024;
    const small = await startTestServer({
      database: "postgres",
      config: { grpc: { ...testConfig().grpc, maxMessageBytes: limit } },
    });
    try {
      const w = wire();
      // ~10 KB sales, some ~30 KB (whose cheap size bound exceeds the limit: measured exactly),
      // in attributes of 1,000 characters (the most a value may hold is 1,024).
      const attributes = (n: number) =>
        Object.fromEntries(Array.from({ length: n }, (_, k) => [`a${k}`, "n".repeat(1_000)]));
      const sales = Array.from({ length: 60 }, (_, i) =>
        makeSale({ attributes: attributes(i % 7 === 0 ? 30 : 10) }),
      );
      const result = await client({ interceptors: [w.interceptor] }, small).ingestMany(sales, {
        maxMessageBytes: limit,
      });
      expect(result).toMatchObject({ received: 60, accepted: 60, rejected: 0, streams: 1 });
      expect(await rowsFor(small, sales)).toBe(60);
      const [call] = w.calls;
      expect(call?.method).toBe("IngestBatchStream");
      const bytes = call?.bytes ?? [];
      expect(Math.max(...bytes)).toBeLessThanOrEqual(limit);
      // Several records a message, not one: the limit groups them, it does not split them.
      expect(Math.max(...(call?.records ?? []))).toBeGreaterThan(1);
      expect(call?.records.reduce((a, b) => a + b, 0)).toBe(60);
    } finally {
      await small.stop();
    }
  });
});

/**
 * A server as it was before IngestBatchStream: IngestService as grpc-js serves it from the
 * generated descriptor, without the new method (grpc-js answers a method it has no handler for
 * UNIMPLEMENTED). Its IngestStream passes each message's bytes to the real server, so what it
 * stores is what the real server stores.
 */
async function startOlderServer(upstream: TestServer) {
  const forward: GrpcClient = rawClient(upstream.port);
  const { ingestBatchStream: _, ...older } = toGrpcServiceDefinition(IngestService);
  const identity = (b: Buffer) => b;
  // The upstream's answer goes back as it came.
  const ingestStream = { ...older.ingestStream, responseSerialize: identity } as MethodDefinition<
    unknown,
    unknown
  >;
  const path = ingestStream.path;
  let streams = 0;
  const grpc = new Server();
  grpc.addService(
    { ...older, ingestStream },
    {
      ingestStream(
        call: ServerReadableStream<Received<unknown>, Buffer>,
        done: sendUnaryData<Buffer>,
      ) {
        streams++;
        const headers = new Metadata();
        for (const name of ["authorization", "idempotency-key"]) {
          const [value] = call.metadata.get(name);
          if (value !== undefined) headers.set(name, value);
        }
        const out = forward.makeClientStreamRequest(
          path,
          identity,
          identity,
          headers,
          (err, res) => (err ? done(err) : done(null, res)),
        );
        call.on("data", (m: Received<unknown>) => out.write(Buffer.from(m.bytes)));
        call.on("end", () => out.end());
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    streams: () => streams,
    async stop() {
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      forward.close();
    },
  };
}

describe("ingestMany against a server without IngestBatchStream", () => {
  it("falls back to IngestStream for the stream and the rest of the client's life, losing and doubling nothing", async () => {
    const older = await startOlderServer(server);
    try {
      const w = wire();
      const c = client({ baseUrl: older.baseUrl, interceptors: [w.interceptor] });
      const bad = new Set([5, 640, 1_999]);
      const sales = Array.from({ length: 2_000 }, (_, i) =>
        bad.has(i) ? makeSale({ currency: "XXQ" }) : makeSale(),
      );
      const first = await c.ingestMany(sales.slice(0, 1_500), {
        streamSize: 500,
        validate: false,
      });
      expect(first).toMatchObject({ received: 1_500, accepted: 1_498, rejected: 2, streams: 3 });
      expect(first.resentStreams).toBe(0);
      expect(first.rejections.map((r) => r.index)).toEqual([5, 640]);

      // Only streams opened before the first answer came back tried the new RPC (2 in flight).
      const tried = w.calls.filter((call) => call.method === "IngestBatchStream");
      expect(tried.length).toBeGreaterThanOrEqual(1);
      expect(tried.length).toBeLessThanOrEqual(2);
      expect(tried.every((call) => call.code === Code.Unimplemented)).toBe(true);
      expect(w.calls.filter((call) => call.method === "IngestStream")).toHaveLength(3);

      // The client remembers: a later load does not ask again.
      const calls = w.calls.length;
      const rest = await c.ingestMany(sales.slice(1_500), { streamSize: 500, validate: false });
      expect(rest).toMatchObject({ received: 500, accepted: 499, rejected: 1 });
      expect(rest.rejections.map((r) => r.index)).toEqual([499]);
      expect(w.calls.slice(calls).map((call) => call.method)).toEqual(["IngestStream"]);
      expect(older.streams()).toBe(4);
      expect(await rowsFor(server, sales)).toBe(1_997);
    } finally {
      await older.stop();
    }
  });
});
