import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { fixedSales, makeSale } from "../support/fixtures.js";
import { type LogLine, testLogger } from "../support/log-lines.js";
import { rawClient } from "../support/raw-client.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";
import { startPostgresProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { until } from "../support/wait.js";

// What the per-call log lines say when a call does not end normally: the real outcome with what
// was committed, at a level that matches whose problem it is, and a database outage told once.

let proxy: TcpProxy;
let server: TestServer;
const logs: LogLine[] = [];

beforeAll(async () => {
  proxy = await startPostgresProxy();
  server = await startTestServer({
    database: "postgres",
    viaPort: proxy.port,
    logger: testLogger({ onLine: (line) => logs.push(line) }),
    config: {
      batching: { streamBatchSize: 500, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      health: { dbPingIntervalMs: 100, dbPingTimeoutMs: 2_000, maxEventLoopDelayMs: 5000 },
      breaker: {
        ...testConfig().breaker,
        volumeThreshold: 3,
        resetTimeoutMs: 300,
        windowMs: 5_000,
      },
    },
  });
});
afterAll(async () => {
  proxy?.heal();
  await server?.stop();
  await proxy?.close();
});

/** Rows stored under a stream key (read directly, not through the proxy). */
async function storedUnder(streamKey: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    server.databaseUrl as string,
    "select count(*) as n from sales where starts_with(idempotency_key, $1)",
    [`${streamKey}/`],
  );
  return Number(row?.n);
}

/** The one per-call line of `method` logged after `from`. */
async function callLine(method: string, from: number): Promise<LogLine> {
  await until(() => logs.slice(from).some((l) => l.method === method));
  const lines = logs.slice(from).filter((l) => l.method === method);
  expect(lines).toHaveLength(1);
  return lines[0] as LogLine;
}

/** grpc_server_handled_total for `method`, by code: what /metrics says calls ended with. */
async function handled(method: string): Promise<Record<string, number>> {
  const { values } = await server.app.metrics.grpcHandled.get();
  return Object.fromEntries(
    values.filter((v) => v.labels.grpc_method === method).map((v) => [v.labels.grpc_code, v.value]),
  );
}

/** The code /metrics counted for the one `method` call ended since `before` was read. */
async function countedAs(method: string, before: Record<string, number>): Promise<string> {
  const after = await handled(method);
  const grown = Object.keys(after).filter((code) => (after[code] ?? 0) > (before[code] ?? 0));
  expect(grown).toHaveLength(1);
  return grown[0] as string;
}

/** A promise that never settles: a stream that waits on it never half-closes. */
const never = new Promise<void>(() => {});

/** `n` sales, then the end of the stream once `end` resolves (at once without it). */
async function* sending(prefix: string, n: number, end?: Promise<void>) {
  yield* fixedSales(prefix, n);
  if (end) await end;
}

describe("per-call log lines", () => {
  it("a stream the client cancels while its last batch commits is logged CANCELLED with the committed counts, at info", async () => {
    const from = logs.length;
    const before = await handled("IngestStream");
    // A slow database keeps the server committing after the client has sent everything.
    proxy.setLatency(150);
    const abort = new AbortController();
    const call = failure(
      server.client().ingestStream(sending("cancel-late", 1_800, never), {
        ...auth(server.keys.acme, "cancel-late"),
        signal: abort.signal,
      }),
    );
    try {
      await until(async () => (await storedUnder("cancel-late")) >= 1_500);
      abort.abort();
      expect((await call).code).toBe(Code.Canceled);
      const line = await callLine("IngestStream", from);
      const committed = await storedUnder("cancel-late");
      expect(line).toMatchObject({
        level: 30,
        code: "CANCELLED",
        accepted: committed,
        duplicate: 0,
      });
      // What the server had read when the client left: all of it, unless the cancel overtook
      // the last few messages.
      expect(line.received).toBeGreaterThanOrEqual(1_500);
      expect(line.received).toBeLessThanOrEqual(1_800);
      expect(line).not.toHaveProperty("err");
      expect(await countedAs("IngestStream", before)).toBe("CANCELLED");
    } finally {
      proxy.setLatency(0);
    }
  });

  it("a stream cancelled midway is logged CANCELLED with what was committed", async () => {
    const from = logs.length;
    // grpc-js's cancel resets the stream without half-closing it first, as a client that dies does.
    const client = rawClient(server.port);
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${server.keys.acme}`);
    metadata.set("idempotency-key", "cancel-mid");
    const ended = new Promise<ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest(
        "/pos.ingest.v1.IngestService/IngestStream",
        (b: Buffer) => b,
        (b: Buffer) => b,
        metadata,
        (error) => resolve(error),
      );
      void (async () => {
        for await (const r of fixedSales("cancel-mid", 1_200)) {
          call.write(Buffer.from(toBinary(IngestRequestSchema, r)));
        }
        await until(async () => (await storedUnder("cancel-mid")) >= 1_000);
        call.cancel();
      })();
    });
    try {
      expect((await ended)?.code).toBe(status.CANCELLED);
      const line = await callLine("IngestStream", from);
      // grpc-js reports the reset as the end of the request, the cancel a little later: the
      // records after the second batch are written only if the server did not see it in time.
      // Either way the line says exactly what is committed.
      expect(line).toMatchObject({
        level: 30,
        code: "CANCELLED",
        accepted: await storedUnder("cancel-mid"),
      });
      expect(line.accepted).toBeGreaterThanOrEqual(1_000);
      expect(line.received).toBeGreaterThanOrEqual(1_000);
      expect(line.received).toBeLessThanOrEqual(1_200);
    } finally {
      client.close();
    }
  });

  it("a stream past the client's deadline is logged DEADLINE_EXCEEDED with the committed counts", async () => {
    const from = logs.length;
    const before = await handled("IngestStream");
    proxy.setLatency(150);
    try {
      // The client never half-closes: only a deadline can end this call, however fast the
      // database is (ending after the last sale let a quick machine finish within it).
      const err = await failure(
        server.client().ingestStream(sending("deadline", 1_800, never), {
          ...auth(server.keys.acme, "deadline"),
          timeoutMs: 800,
        }),
      );
      expect(err.code).toBe(Code.DeadlineExceeded);
      const line = await callLine("IngestStream", from);
      expect(line).toMatchObject({ level: 30, accepted: await storedUnder("deadline") });
      // The client gives up at its deadline too: whichever of its reset and the server's own
      // deadline comes first decides the code, and the log says what /metrics says.
      expect(["DEADLINE_EXCEEDED", "CANCELLED"]).toContain(line.code);
      expect(line.code).toBe(await countedAs("IngestStream", before));
    } finally {
      proxy.setLatency(0);
    }
  });

  it("a unary call past the client's deadline is logged DEADLINE_EXCEEDED with what it stored", async () => {
    // Authenticated once first, so the key is cached and the slow part is the write.
    await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme));
    const from = logs.length;
    const before = await handled("Ingest");
    proxy.setLatency(300);
    try {
      const err = await failure(
        server.client().ingest({ sale: makeSale() }, { ...auth(server.keys.acme), timeoutMs: 200 }),
      );
      expect(err.code).toBe(Code.DeadlineExceeded);
      const line = await callLine("Ingest", from);
      expect(line).toMatchObject({ level: 30, outcome: "accepted" });
      expect(["DEADLINE_EXCEEDED", "CANCELLED"]).toContain(line.code);
      expect(line.code).toBe(await countedAs("Ingest", before));
    } finally {
      proxy.setLatency(0);
    }
  });

  it("a database outage: one warn line per failed call, no stack; the outage logged once when it starts and once when it ends", async () => {
    const ok = await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme));
    expect(ok.outcome).toBeDefined();
    const from = logs.length;
    proxy.cut();
    let failed = 0;
    const unary = async () => {
      try {
        await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme));
        return true;
      } catch (err) {
        expect(ConnectError.from(err).code).toBe(Code.Unavailable);
        failed++;
        return false;
      }
    };
    // Calls through the whole outage, long enough for the breaker to retry (half-open) and
    // fail again several times: that must not read as several outages.
    await until(
      async () => {
        await unary();
        const retries = logs
          .slice(from)
          .filter((l) => l.msg === "circuit breaker transition" && l.to === "half_open");
        return failed >= 10 && retries.length >= 3;
      },
      { what: () => JSON.stringify({ failed, lines: logs.slice(from).slice(-5) }) },
    );
    const stream = await failure(
      server.client().ingestStream(sending("outage", 10), auth(server.keys.acme, "outage")),
    );
    expect(stream.code).toBe(Code.Unavailable);
    failed++;
    proxy.heal();
    await until(unary);
    await until(() => logs.slice(from).some((l) => l.msg === "database available again"));

    const lines = logs.slice(from);
    const calls = lines.filter((l) => l.msg === "call" || l.msg === "call failed");
    const unavailable = calls.filter((l) => l.code === "UNAVAILABLE");
    expect(unavailable).toHaveLength(failed);
    for (const line of unavailable) {
      expect(line.level).toBe(40);
      expect(line).not.toHaveProperty("err");
      expect(JSON.stringify(line)).not.toMatch(/stack|\n\s+at /);
      expect(line.reason).toEqual(expect.any(String));
    }
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    const down = lines.filter((l) => l.msg === "database unavailable");
    const up = lines.filter((l) => l.msg === "database available again");
    expect(down).toHaveLength(1);
    expect(up).toHaveLength(1);
    expect(down[0]).toMatchObject({ level: 40 });
    expect(up[0]).toMatchObject({ level: 30, outageMs: expect.any(Number) });
    expect(lines.indexOf(down[0] as LogLine)).toBeLessThan(lines.indexOf(up[0] as LogLine));
  });
});
