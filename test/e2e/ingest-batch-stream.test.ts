import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  type IngestBatchStreamRequest,
  IngestBatchStreamRequestSchema,
  type IngestRequest,
  IngestRequestSchema,
  IngestStreamResponseSchema,
  RejectReason,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { rawClient, rawClientStream } from "../support/raw-client.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  // Batches of the database (100) that do not line up with the messages (37 records), so records
  // of one message land in two batches and one batch holds records of several messages.
  server = await startTestServer({
    database: "postgres",
    config: {
      batching: { streamBatchSize: 100, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
      streams: { ...testConfig().streams, maxRecords: 5_000 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** The sales as batch messages of `sizes[i % sizes.length]` records each. */
async function* batches(
  sales: readonly Sale[],
  sizes: readonly number[] = [37],
): AsyncGenerator<IngestBatchStreamRequest> {
  let at = 0;
  for (let m = 0; at < sales.length || m === 0; m++) {
    const size = sizes[m % sizes.length] as number;
    const records = sales.slice(at, at + size).map((sale) => create(IngestRequestSchema, { sale }));
    at += size;
    yield create(IngestBatchStreamRequestSchema, { records });
  }
}

async function* singles(sales: readonly Sale[]): AsyncGenerator<IngestRequest> {
  for (const sale of sales) yield create(IngestRequestSchema, { sale });
}

async function stored(keyPrefix: string): Promise<Map<string, string>> {
  const rows = await query<{ idempotency_key: string; sale_id: string }>(
    server.databaseUrl as string,
    "select idempotency_key, sale_id from sales where tenant_id = 'acme' and starts_with(idempotency_key, $1)",
    [keyPrefix],
  );
  return new Map(rows.map((r) => [r.idempotency_key, r.sale_id]));
}

/** A batch message put together by hand, so a record in it can be any bytes. */
const encodeBatch = (records: Uint8Array[]): Buffer =>
  Buffer.concat(records.map((r) => Buffer.concat([Buffer.from([0x0a, ...varint(r.length)]), r])));
function varint(n: number): number[] {
  const bytes: number[] = [];
  for (; n >= 0x80; n >>>= 7) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return bytes;
}
const encodeRecord = (sale: Sale): Uint8Array =>
  toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale }));

describe("IngestBatchStream", () => {
  it("stores every record of every message under <stream key>/<offset in the whole stream>", async () => {
    const sales = Array.from({ length: 1_000 }, () => makeSale());
    // Uneven messages, an empty one among them.
    const res = await server
      .client()
      .ingestBatchStream(batches(sales, [37, 1, 0, 250]), auth(server.keys.acme, "batch-1k"));
    expect(res).toMatchObject({ received: 1_000n, accepted: 1_000n, duplicate: 0n, rejected: 0n });
    expect(res.idempotencyKey).toBe("batch-1k");
    const rows = await stored("batch-1k/");
    expect(rows.size).toBe(1_000);
    sales.forEach((sale, i) => {
      expect(rows.get(`batch-1k/${i}`)).toBe(sale.saleId);
    });
  });

  it("is the same stream as IngestStream: a resend in either form, any grouping, is all duplicates", async () => {
    const sales = Array.from({ length: 300 }, () => makeSale());
    const headers = auth(server.keys.acme, "batch-forms");
    const first = await server.client().ingestStream(singles(sales), headers);
    expect(first.accepted).toBe(300n);
    const batched = await server.client().ingestBatchStream(batches(sales, [7, 120]), headers);
    expect(batched).toMatchObject({ received: 300n, accepted: 0n, duplicate: 300n, rejected: 0n });
    const regrouped = await server.client().ingestBatchStream(batches(sales, [300]), headers);
    expect(regrouped).toMatchObject({ accepted: 0n, duplicate: 300n });
    expect((await stored("batch-forms/")).size).toBe(300);
  });

  it("reports rejections at their offset in the whole stream, and keeps records' own keys", async () => {
    const sales = Array.from({ length: 80 }, () => makeSale());
    const bad = { ...(sales[45] as Sale), currency: "EURO" };
    sales[45] = bad;
    async function* messages(): AsyncGenerator<IngestBatchStreamRequest> {
      for (let at = 0; at < sales.length; at += 30) {
        const records = sales.slice(at, at + 30).map((sale, i) =>
          create(IngestRequestSchema, {
            sale,
            idempotencyKey: at + i === 70 ? "own-key-70" : "",
          }),
        );
        yield create(IngestBatchStreamRequestSchema, { records });
      }
    }
    const res = await server
      .client()
      .ingestBatchStream(messages(), auth(server.keys.acme, "batch-rej"));
    expect(res).toMatchObject({ received: 80n, accepted: 79n, rejected: 1n });
    expect(res.rejections).toHaveLength(1);
    expect(res.rejections[0]).toMatchObject({
      offset: 45n,
      reason: RejectReason.INVALID_ARGUMENT,
      field: "sale.currency",
    });
    const rows = await stored("batch-rej/");
    expect(rows.size).toBe(78);
    expect(rows.has("batch-rej/70")).toBe(false);
    expect((await stored("own-key-70")).get("own-key-70")).toBe(sales[70]?.saleId);
  });

  it("rejects an undecodable record at its offset and stores the rest of its message", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const sales = Array.from({ length: 5 }, () => makeSale());
    const garbage = Uint8Array.from([0x0a, 0x05, 0xff]); // a sale field running past its record
    const message = encodeBatch([
      encodeRecord(sales[0] as Sale),
      encodeRecord(sales[1] as Sale),
      garbage,
      encodeRecord(sales[2] as Sale),
    ]);
    const second = encodeBatch([encodeRecord(sales[3] as Sale), encodeRecord(sales[4] as Sale)]);
    const { error, response } = await rawClientStream(
      client,
      "/pos.ingest.v1.IngestService/IngestBatchStream",
      [message, second],
      auth(server.keys.acme, "batch-garbage").headers,
    );
    expect(error).toBeNull();
    const res = fromBinary(IngestStreamResponseSchema, response as Buffer);
    expect(res).toMatchObject({ received: 6n, accepted: 5n, rejected: 1n });
    expect(res.rejections[0]).toMatchObject({ offset: 2n, reason: RejectReason.MALFORMED });
    const rows = await stored("batch-garbage/");
    expect([...rows.keys()].sort()).toEqual([
      "batch-garbage/0",
      "batch-garbage/1",
      "batch-garbage/3",
      "batch-garbage/4",
      "batch-garbage/5",
    ]);
  });

  it("ends the stream with INVALID_ARGUMENT naming `records` when a message's list cannot be read", async () => {
    const client = rawClient(server.port);
    onTestFinished(() => client.close());
    const sales = Array.from({ length: 150 }, () => makeSale());
    const first = encodeBatch(sales.slice(0, 120).map(encodeRecord));
    // A records entry whose length runs past the message.
    const broken = Buffer.concat([
      encodeBatch([encodeRecord(sales[120] as Sale)]),
      Buffer.from([0x0a, 0x7f, 0x01]),
    ]);
    const { error } = await rawClientStream(
      client,
      "/pos.ingest.v1.IngestService/IngestBatchStream",
      [first, broken, encodeBatch(sales.slice(121).map(encodeRecord))],
      auth(server.keys.acme, "batch-broken").headers,
    );
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/list of records cannot be read/);
    // What the answer says is committed is what is stored: the first message's full batch, at least.
    const details = fromBinary(
      StatusSchema,
      error?.metadata.get("grpc-status-details-bin")[0] as Buffer,
    ).details;
    const badRequest = details.map((d) => anyUnpack(d, BadRequestSchema)).find((d) => d);
    expect(badRequest?.fieldViolations[0]?.field).toBe("records");
    const info = details.map((d) => anyUnpack(d, ErrorInfoSchema)).find((d) => d);
    expect(info?.reason).toBe("MALFORMED_BATCH");
    // The first message's 120 records were read; its first batch of 100 at least is committed,
    // and what the answer says is committed is exactly what is stored. Nothing of the broken
    // message (offset 120 on) is.
    const rows = await stored("batch-broken/");
    expect(info?.metadata.received).toBe("120");
    expect(Number(info?.metadata.accepted)).toBe(rows.size);
    expect(rows.size).toBeGreaterThanOrEqual(100);
    expect(rows.has("batch-broken/120")).toBe(false);
  });

  it("bounds a stream by records, not messages, and reports what it committed", async () => {
    const sales = Array.from({ length: 250 }, () => makeSale());
    async function* messages(): AsyncGenerator<IngestBatchStreamRequest> {
      yield create(IngestBatchStreamRequestSchema, {
        records: sales.map((sale) => create(IngestRequestSchema, { sale })),
      });
    }
    const err = await failure(
      server.client().ingestBatchStream(
        (async function* () {
          yield* messages();
          yield* batches(
            Array.from({ length: 5_000 }, () => makeSale()),
            [1_000],
          );
        })(),
        auth(server.keys.acme, "batch-bound"),
      ),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    const info = err.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("STREAM_TOO_MANY_RECORDS");
    // The bound counts records, not messages: the 5,001st record ends it.
    expect(Number(info?.metadata.received)).toBe(5_000);
    expect(Number(info?.metadata.accepted)).toBe((await stored("batch-bound/")).size);
  });
});
