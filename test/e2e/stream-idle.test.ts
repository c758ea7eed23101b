import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";
import { startPostgresProxy, type TcpProxy } from "../support/tcp-proxy.js";

// STREAM_IDLE_TIMEOUT_MS bounds how long a client may stay silent while the server is ready to
// read; time the server spends waiting itself (on the database, on the rate limiter) is not the
// client's silence.

const IDLE_MS = 300;
let proxy: TcpProxy;
let server: TestServer;

beforeAll(async () => {
  proxy = await startPostgresProxy();
  server = await startTestServer({
    database: "postgres",
    viaPort: proxy.port,
    config: {
      batching: { streamBatchSize: 10, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      streams: { ...testConfig().streams, idleTimeoutMs: IDLE_MS },
      // The slow pings must not look like an outage to this test.
      health: { dbPingIntervalMs: 200, dbPingTimeoutMs: 5_000, maxEventLoopDelayMs: 5000 },
      rateLimit: {
        ...testConfig().rateLimit,
        // globex's budget refills 10 records (one batch) every 500 ms, longer than IDLE_MS.
        tenants: { globex: { recordsPerSecond: 20, burst: 0 } },
      },
    },
  });
});
afterAll(async () => {
  proxy?.heal();
  await server?.stop();
  await proxy?.close();
});

/** `n` records, one every `everyMs` (a client that keeps sending), then `silentMs` of nothing. */
async function* records(n: number, everyMs: number, silentMs = 0): AsyncGenerator<IngestRequest> {
  for (let i = 0; i < n; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
    yield create(IngestRequestSchema, { sale: makeSale() });
  }
  if (silentMs > 0) await new Promise((r) => setTimeout(r, silentMs));
}

describe("stream idle timeout", () => {
  it("does not end a busy client's stream while the server waits on a slow database", async () => {
    // Every round trip to the database now takes 2 × 400 ms, longer than IDLE_MS: with two
    // batches in flight the server stops reading and waits, while the client keeps sending.
    proxy.setLatency(400);
    try {
      const res = await server
        .client()
        .ingestStream(records(60, 10), auth(server.keys.acme, "slow-db"));
      expect(res.accepted).toBe(60n);
    } finally {
      proxy.setLatency(0);
    }
  });

  it("does not end a busy client's stream while the server waits on the rate limiter", async () => {
    const res = await server
      .client()
      .ingestStream(records(40, 10), auth(server.keys.globex, "slow-budget"));
    expect(res.accepted).toBe(40n);
  });

  it("still ends a client that goes silent, with the database slow", async () => {
    proxy.setLatency(400);
    try {
      const started = performance.now();
      const err = await failure(
        server.client().ingestStream(records(25, 10, 5_000), auth(server.keys.acme, "silent")),
      );
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_IDLE");
      // Well before the client would have finished on its own.
      expect(performance.now() - started).toBeLessThan(4_500);
    } finally {
      proxy.setLatency(0);
    }
  });

  it("reports in the idle error what is committed, batches in flight included", async () => {
    // One full batch goes to the slow database and is not waited for (a second may be in
    // flight); the client then falls silent, so the idle bound ends the stream while the batch
    // is still on its way. Its records are stored, and the counts the client gets must say so.
    proxy.setLatency(400);
    let err: ConnectError;
    try {
      err = await failure(
        server.client().ingestStream(records(10, 0, 5_000), auth(server.keys.acme, "idle-count")),
      );
    } finally {
      proxy.setLatency(0);
    }
    expect(err.code).toBe(Code.DeadlineExceeded);
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("STREAM_IDLE");
    const stored = await query<{ n: string }>(
      server.databaseUrl as string,
      "select count(*) as n from sales where starts_with(idempotency_key, 'idle-count/')",
    );
    expect(Number(stored[0]?.n)).toBe(10);
    expect(info?.metadata.accepted).toBe("10");
  });
});
