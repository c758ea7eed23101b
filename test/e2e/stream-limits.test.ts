import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { failure } from "../support/calls.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    database: "pglite",
    config: {
      batching: { streamBatchSize: 10, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      // An idle bound a loaded machine's scheduling cannot reach by accident between two records.
      streams: { ...testConfig().streams, maxRecords: 25, idleTimeoutMs: 2_000, maxPerTenant: 2 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function* records(n: number, pauseMs = 0): AsyncGenerator<IngestRequest> {
  for (let i = 0; i < n; i++) {
    if (pauseMs > 0 && i > 0) await new Promise((r) => setTimeout(r, pauseMs));
    yield create(IngestRequestSchema, { sale: makeSale() });
  }
}

describe("stream bounds", () => {
  it("ends a stream past MAX_STREAM_RECORDS with RESOURCE_EXHAUSTED and what it committed", async () => {
    const err = await failure(
      server.client().ingestStream(records(40), auth(server.keys.acme, "too-many")),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("STREAM_TOO_MANY_RECORDS");
    expect(Number(info?.metadata.accepted)).toBe(20);
    // Exactly at the bound is fine.
    const ok = await server.client().ingestStream(records(25), auth(server.keys.acme, "at-bound"));
    expect(ok.accepted).toBe(25n);
  });

  it("ends a stream whose client goes silent with DEADLINE_EXCEEDED", async () => {
    // The client pauses far longer than the idle bound between records.
    const started = performance.now();
    const err = await failure(
      server.client().ingestStream(records(3, 20_000), auth(server.keys.acme, "idle")),
    );
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_IDLE");
    // Ended by the idle bound, not by the client finishing.
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

describe("streams per tenant", () => {
  let bounded: TestServer;
  beforeAll(async () => {
    // Its own server with a long idle timeout: the two held streams below are silent while the
    // third is tried, which on a loaded machine can take longer than the bounds above allow.
    bounded = await startTestServer({
      database: "postgres",
      config: { streams: { ...testConfig().streams, idleTimeoutMs: 60_000, maxPerTenant: 2 } },
    });
  });
  afterAll(async () => {
    await bounded?.stop();
  });

  it("refuses a tenant's third concurrent stream with RESOURCE_EXHAUSTED and a retry delay", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    async function* held(): AsyncGenerator<IngestRequest> {
      yield create(IngestRequestSchema, { sale: makeSale() });
      await released;
      for (let i = 0; i < 3; i++) yield create(IngestRequestSchema, { sale: makeSale() });
    }
    const open = [1, 2].map(() => bounded.client().ingestStream(held(), auth(bounded.keys.acme)));
    try {
      // Until both held streams are open on the server, a third one gets in (and stores nothing):
      // try until it is refused, rather than guessing how long opening takes.
      let third: ConnectError | undefined;
      for (let attempt = 0; third === undefined; attempt++) {
        if (attempt >= 200) throw new Error("the third stream was never refused");
        try {
          const res = await bounded.client().ingestStream(records(0), auth(bounded.keys.acme));
          expect(res.received).toBe(0n);
        } catch (err) {
          third = ConnectError.from(err);
        }
      }
      if (third === undefined) throw new Error("unreachable");
      expect(third.code).toBe(Code.ResourceExhausted);
      expect(third.metadata.get("grpc-retry-pushback-ms")).toBe("1000");
      // Another tenant is not affected.
      expect(
        (await bounded.client().ingestStream(records(1), auth(bounded.keys.globex))).accepted,
      ).toBe(1n);
    } finally {
      release();
    }
    // The first two finish normally.
    for (const res of await Promise.all(open)) expect(res.accepted).toBe(4n);
  });
});
