import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
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
      streams: { ...testConfig().streams, maxRecords: 25, idleTimeoutMs: 300, maxPerTenant: 2 },
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
    const started = performance.now();
    const err = await failure(
      server.client().ingestStream(records(3, 1_000), auth(server.keys.acme, "idle")),
    );
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_IDLE");
    expect(performance.now() - started).toBeLessThan(900);
  });

  it("refuses a tenant's third concurrent stream with RESOURCE_EXHAUSTED and a retry delay", async () => {
    const open = [1, 2].map(() =>
      server.client().ingestStream(records(4, 150), auth(server.keys.acme)),
    );
    await new Promise((r) => setTimeout(r, 100));
    const third = await failure(server.client().ingestStream(records(1), auth(server.keys.acme)));
    expect(third.code).toBe(Code.ResourceExhausted);
    expect(third.metadata.get("grpc-retry-pushback-ms")).toBe("1000");
    // Another tenant is not affected, and the first two finish normally.
    expect(
      (await server.client().ingestStream(records(1), auth(server.keys.globex))).accepted,
    ).toBe(1n);
    for (const res of await Promise.all(open)) expect(res.accepted).toBe(4n);
  });
});
