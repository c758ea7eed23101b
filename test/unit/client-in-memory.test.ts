import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  IngestResponseSchema,
  IngestService,
  IngestStreamResponseSchema,
  Outcome,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createIngestClient, IngestError, saleKey } from "../../src/client/index.js";
import { makeSale } from "../support/fixtures.js";

// The client library against a server implemented in memory (connect's router transport): what
// it sends and how it reacts to each answer, without a network or a database. The end-to-end
// tests (test/e2e/client*.test.ts) run it against the real server.

interface Seen {
  authorization: (string | null)[];
  keys: string[];
  /** The stream RPCs served, in order. */
  methods: string[];
}

/**
 * An IngestService whose unary answers come from `answers` in turn (an error is thrown). With
 * `batch: false` it lacks IngestBatchStream, as a server older than it does.
 */
function fakeServer(answers: ("accepted" | "duplicate" | ConnectError)[], batch = true) {
  const seen: Seen = { authorization: [], keys: [], methods: [] };
  const transport = createRouterTransport(({ service }) => {
    service(IngestService, {
      ingest(req, ctx) {
        seen.authorization.push(ctx.requestHeader.get("authorization"));
        // A unary call names its sale in the metadata; a streamed record in the request.
        const key = ctx.requestHeader.get("idempotency-key") ?? req.idempotencyKey;
        seen.keys.push(key);
        const answer = answers.shift() ?? "accepted";
        if (answer instanceof ConnectError) throw answer;
        return create(IngestResponseSchema, {
          recordId: "00000000-0000-4000-8000-000000000001",
          outcome: answer === "accepted" ? Outcome.ACCEPTED : Outcome.DUPLICATE,
          acceptedAt: timestampNow(),
          idempotencyKey: key,
        });
      },
      async ingestStream(requests, ctx) {
        seen.authorization.push(ctx.requestHeader.get("authorization"));
        seen.methods.push("IngestStream");
        let received = 0n;
        for await (const req of requests) {
          seen.keys.push(req.idempotencyKey);
          received++;
        }
        return create(IngestStreamResponseSchema, { received, accepted: received });
      },
      ...(batch && {
        async ingestBatchStream(messages, ctx) {
          seen.authorization.push(ctx.requestHeader.get("authorization"));
          seen.methods.push("IngestBatchStream");
          let received = 0n;
          for await (const message of messages) {
            for (const req of message.records) {
              seen.keys.push(req.idempotencyKey);
              received++;
            }
          }
          return create(IngestStreamResponseSchema, { received, accepted: received });
        },
      }),
    });
  });
  return { transport, seen };
}

const unavailable = (delayMs: number) =>
  new ConnectError("database unreachable", Code.Unavailable, undefined, [
    {
      desc: RetryInfoSchema,
      value: { retryDelay: { seconds: 0n, nanos: delayMs * 1_000_000 } },
    },
  ]);

describe("the client on an in-memory transport", () => {
  it("sends the API key and the sale's own key, and reports the outcome", async () => {
    const { transport, seen } = fakeServer(["accepted"]);
    const client = createIngestClient({ transport, apiKey: "pik_test" });
    const sale = makeSale();
    const result = await client.ingest(sale);
    expect(result).toMatchObject({ outcome: "accepted", attempts: 1 });
    expect(result.idempotencyKey).toBe(saleKey(sale));
    expect(seen.authorization).toEqual(["Bearer pik_test"]);
    expect(seen.keys).toEqual([saleKey(sale)]);
    client.close();
  });

  it("retries UNAVAILABLE after the server's delay, under the same key", async () => {
    const { transport, seen } = fakeServer([unavailable(5), unavailable(5), "duplicate"]);
    const retries: number[] = [];
    const client = createIngestClient({
      transport,
      apiKey: "pik_test",
      onRetry: (_, delayMs) => retries.push(delayMs),
    });
    const result = await client.ingest(makeSale(), { idempotencyKey: "k-1" });
    expect(result).toMatchObject({ outcome: "duplicate", attempts: 3 });
    expect(seen.keys).toEqual(["k-1", "k-1", "k-1"]);
    expect(retries).toHaveLength(2);
    for (const delay of retries) expect(delay).toBeGreaterThanOrEqual(5);
  });

  it("does not retry the client's mistake, and refuses an invalid sale without a call", async () => {
    const { transport, seen } = fakeServer([
      new ConnectError("bad", Code.InvalidArgument),
      "accepted",
    ]);
    const client = createIngestClient({ transport, apiKey: "pik_test" });
    const refused = await client.ingest(makeSale()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IngestError);
    expect(refused).toMatchObject({ code: Code.InvalidArgument, attempts: 1 });
    const invalid = await client.ingest(makeSale({ currency: "euro" })).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: Code.InvalidArgument, attempts: 0 });
    expect(seen.keys).toHaveLength(1);
  });

  it("streams many sales, each under its own key", async () => {
    const { transport, seen } = fakeServer([]);
    const client = createIngestClient({ transport, apiKey: "pik_test" });
    const sales = Array.from({ length: 2_500 }, () => makeSale());
    const result = await client.ingestMany(sales, { streamSize: 1_000, concurrency: 2 });
    expect(result).toMatchObject({ received: 2_500, accepted: 2_500, rejected: 0, streams: 3 });
    expect(new Set(seen.keys)).toEqual(new Set(sales.map((s) => saleKey(s))));
    expect(seen.authorization).toEqual(Array(3).fill("Bearer pik_test"));
    expect(seen.methods).toEqual(Array(3).fill("IngestBatchStream"));
  });

  it("sends IngestStream to a server without IngestBatchStream, and keeps doing so", async () => {
    const { transport, seen } = fakeServer([], false);
    const client = createIngestClient({ transport, apiKey: "pik_test" });
    const sales = Array.from({ length: 2_500 }, () => makeSale());
    const result = await client.ingestMany(sales, { streamSize: 1_000, concurrency: 1 });
    expect(result).toMatchObject({
      received: 2_500,
      accepted: 2_500,
      streams: 3,
      resentStreams: 0,
    });
    expect(seen.keys).toEqual(sales.map((s) => saleKey(s)));
    expect(seen.methods).toEqual(Array(3).fill("IngestStream"));
  });

  it("needs a server: a baseUrl or a transport", () => {
    expect(() => createIngestClient({ apiKey: "pik_test" })).toThrow(/baseUrl or transport/);
  });
});
