import { create, fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IngestRequestSchema, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { failure as rejectionOf } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
});
afterAll(async () => {
  await server?.stop();
});

async function countSales(tenant: string, key: string): Promise<number> {
  const rows = await query<{ n: string }>(
    server.databaseUrl as string,
    "select count(*) as n from sales where tenant_id = $1 and idempotency_key = $2",
    [tenant, key],
  );
  return Number(rows[0]?.n);
}

describe("Ingest (unary) on PostgreSQL", () => {
  it("accepts a sale, stores it, and answers with its id, time and key", async () => {
    const client = server.client();
    const sale = makeSale();
    const res = await client.ingest({ sale }, auth(server.keys.acme, "unary-accept-1"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
    expect(res.recordId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(res.idempotencyKey).toBe("unary-accept-1");
    const acceptedMs = Number(res.acceptedAt?.seconds) * 1000;
    expect(Math.abs(acceptedMs - Date.now())).toBeLessThan(60_000);
    const rows = await query<{
      id: string;
      sale_id: string;
      total_minor: string;
      sale: Buffer;
    }>(
      server.databaseUrl as string,
      "select id, sale_id, total_minor, sale from sales where tenant_id = 'acme' and idempotency_key = 'unary-accept-1'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(res.recordId);
    expect(rows[0]?.sale_id).toBe(sale.saleId);
    expect(rows[0]?.total_minor).toBe(sale.totals?.totalMinor.toString());
    // The stored bytes decode to the very sale that was sent.
    expect(fromBinary(SaleSchema, rows[0]?.sale as Buffer)).toEqual(sale);
  });

  it("replays the original answer for a retry with the same key and sale", async () => {
    const client = server.client();
    const sale = makeSale();
    const first = await client.ingest({ sale }, auth(server.keys.acme, "unary-dup-1"));
    const again = await client.ingest({ sale }, auth(server.keys.acme, "unary-dup-1"));
    expect(first.outcome).toBe(Outcome.ACCEPTED);
    expect(again.outcome).toBe(Outcome.DUPLICATE);
    expect(again.recordId).toBe(first.recordId);
    expect(again.acceptedAt).toEqual(first.acceptedAt);
    expect(await countSales("acme", "unary-dup-1")).toBe(1);
  });

  it("refuses the same key with a different sale and keeps the original", async () => {
    const client = server.client();
    const first = await client.ingest(
      { sale: makeSale() },
      auth(server.keys.acme, "unary-mismatch"),
    );
    const err = await rejectionOf(
      client.ingest({ sale: makeSale() }, auth(server.keys.acme, "unary-mismatch")),
    );
    expect(err.code).toBe(Code.FailedPrecondition);
    const rows = await query<{ id: string }>(
      server.databaseUrl as string,
      "select id from sales where tenant_id = 'acme' and idempotency_key = 'unary-mismatch'",
    );
    expect(rows.map((r) => r.id)).toEqual([first.recordId]);
  });

  it("derives a key from the content when none is sent, so an identical retry deduplicates", async () => {
    const client = server.client();
    const sale = makeSale();
    const first = await client.ingest({ sale }, auth(server.keys.acme));
    const again = await client.ingest({ sale }, auth(server.keys.acme));
    expect(first.idempotencyKey).toMatch(/^content:[0-9a-f]{64}$/);
    expect(again.idempotencyKey).toBe(first.idempotencyKey);
    expect(again.outcome).toBe(Outcome.DUPLICATE);
    expect(again.recordId).toBe(first.recordId);
    // Attribute order on the wire does not change the content key.
    const reordered = makeSale({ ...sale, attributes: { b: "2", a: "1" } });
    const ordered = makeSale({ ...sale, attributes: { a: "1", b: "2" } });
    const r1 = await client.ingest({ sale: reordered }, auth(server.keys.acme));
    const r2 = await client.ingest({ sale: ordered }, auth(server.keys.acme));
    expect(r2.idempotencyKey).toBe(r1.idempotencyKey);
    expect(r2.outcome).toBe(Outcome.DUPLICATE);
  });

  it.each([5, 50])(
    "accepts exactly one of %i concurrent calls with one key, the rest duplicate",
    async (n) => {
      const client = server.client();
      const sale = makeSale();
      const key = `unary-concurrent-${n}`;
      const results = await Promise.all(
        Array.from({ length: n }, () => client.ingest({ sale }, auth(server.keys.acme, key))),
      );
      expect(results.filter((r) => r.outcome === Outcome.ACCEPTED)).toHaveLength(1);
      expect(results.filter((r) => r.outcome === Outcome.DUPLICATE)).toHaveLength(n - 1);
      expect(new Set(results.map((r) => r.recordId)).size).toBe(1);
      expect(await countSales("acme", key)).toBe(1);
    },
  );

  it("stores concurrent retries across separate connections exactly once", async () => {
    const sale = makeSale();
    const key = "unary-concurrent-connections";
    // A client per call: separate HTTP/2 connections, as separate gateway retries would use.
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        server.client().ingest({ sale }, auth(server.keys.acme, key)),
      ),
    );
    expect(results.filter((r) => r.outcome === Outcome.ACCEPTED)).toHaveLength(1);
    expect(await countSales("acme", key)).toBe(1);
  });

  it("keeps tenants apart: the same key in two tenants is two records", async () => {
    const client = server.client();
    const a = await client.ingest({ sale: makeSale() }, auth(server.keys.acme, "shared-key"));
    const b = await client.ingest({ sale: makeSale() }, auth(server.keys.globex, "shared-key"));
    expect(a.outcome).toBe(Outcome.ACCEPTED);
    expect(b.outcome).toBe(Outcome.ACCEPTED);
    expect(b.recordId).not.toBe(a.recordId);
    expect(await countSales("acme", "shared-key")).toBe(1);
    expect(await countSales("globex", "shared-key")).toBe(1);
  });

  it("answers INVALID_ARGUMENT with google.rpc.BadRequest naming the field, and stores nothing", async () => {
    const client = server.client();
    const sale = makeSale({ currency: "EURO" });
    const err = await rejectionOf(client.ingest({ sale }, auth(server.keys.acme, "unary-invalid")));
    expect(err.code).toBe(Code.InvalidArgument);
    const [badRequest] = err.findDetails(BadRequestSchema);
    expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual(["sale.currency"]);
    expect(await countSales("acme", "unary-invalid")).toBe(0);
  });

  it("answers INVALID_ARGUMENT for a request without a sale", async () => {
    const err = await rejectionOf(server.client().ingest({}, auth(server.keys.acme)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("sale");
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(256)],
  ])("answers INVALID_ARGUMENT for an idempotency key that is %s", async (_what, key) => {
    const err = await rejectionOf(
      server
        .client()
        .ingest(
          { sale: makeSale() },
          { headers: { ...auth(server.keys.acme).headers, "idempotency-key": key } },
        ),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe(
      "metadata.idempotency-key",
    );
  });

  // grpc-js drops a metadata value that is not legal gRPC ASCII (RFC 7230 field characters)
  // before any handler sees it, so such a key can only ever be treated as absent. What matters is
  // that it is never stored as given: the sale is keyed by its content instead.
  it.each([
    ["non-ASCII", "caf\u00e9"],
    ["a control character", "tab\there"],
  ])("never stores an idempotency key that is %s", async (_what, key) => {
    const res = await server
      .client()
      .ingest(
        { sale: makeSale() },
        { headers: { ...auth(server.keys.acme).headers, "idempotency-key": key } },
      );
    expect(res.idempotencyKey).toMatch(/^content:[0-9a-f]{64}$/);
  });

  it("takes the key from the request's idempotency_key field when the metadata has none", async () => {
    const sale = makeSale();
    const first = await server
      .client()
      .ingest({ sale, idempotencyKey: "field-key-1" }, auth(server.keys.acme));
    expect(first).toMatchObject({ outcome: Outcome.ACCEPTED, idempotencyKey: "field-key-1" });
    // The same key in the metadata names the same record.
    const again = await server.client().ingest({ sale }, auth(server.keys.acme, "field-key-1"));
    expect(again).toMatchObject({ outcome: Outcome.DUPLICATE, recordId: first.recordId });
    const both = await server
      .client()
      .ingest({ sale, idempotencyKey: "field-key-1" }, auth(server.keys.acme, "field-key-1"));
    expect(both.outcome).toBe(Outcome.DUPLICATE);
    expect(await countSales("acme", "field-key-1")).toBe(1);
  });

  it.each([
    ["differs from the metadata's", "field-key-2", "other-key"],
    ["is not printable ASCII", "caf\u00e9", undefined],
  ])(
    "answers INVALID_ARGUMENT when the request's idempotency_key %s",
    async (_what, field, meta) => {
      const err = await rejectionOf(
        server
          .client()
          .ingest({ sale: makeSale(), idempotencyKey: field }, auth(server.keys.acme, meta)),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe(
        "idempotency_key",
      );
      expect(await countSales("acme", field)).toBe(0);
    },
  );

  it("accepts a 255-character printable key", async () => {
    const key = `${"k".repeat(250)} ~!@#`;
    const res = await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme, key));
    expect(res.idempotencyKey).toBe(key);
  });

  it.each([
    ["no authorization", {}],
    ["a malformed header", { authorization: "Basic abc" }],
    [
      "an unknown key",
      { authorization: "Bearer pik_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    ],
    ["garbage", { authorization: "Bearer \u00ff" }],
  ])("answers UNAUTHENTICATED for %s", async (_what, headers) => {
    const err = await rejectionOf(server.client().ingest({ sale: makeSale() }, { headers }));
    expect(err.code).toBe(Code.Unauthenticated);
  });

  it("serves a request message with unknown fields from a newer client", async () => {
    const request = create(IngestRequestSchema, { sale: makeSale() });
    request.$unknown = [{ no: 99, wireType: 2, data: new Uint8Array([3, 97, 98, 99]) }];
    const res = await server.client().ingest(request, auth(server.keys.acme));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
  });
});
