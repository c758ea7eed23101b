import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { DEFAULT_MAX_LINE_ITEMS } from "../../src/contract/wire.js";
import { IdempotencyConflictError, ValidationError } from "../../src/errors.js";
import {
  createIngestService,
  type IngestService,
  type IngestServiceOptions,
  type StreamSession,
} from "../../src/ingest/service.js";
import type { Database } from "../../src/storage/database.js";
import { makeSale } from "../support/fixtures.js";
import { useMigratedDatabase } from "../support/migrated-database.js";

// The ingest service and its stream sessions built directly on a migrated database: no gRPC, no
// network, no mocks. Run on both engines, since concurrent writes of one key are only truly
// concurrent on Postgres (PGlite serialises them), and the embedded engine ships as a product.

const LIMITS = { maxLineItems: DEFAULT_MAX_LINE_ITEMS, maxFutureSkewSeconds: 300 };

/** A tenant of its own per test, so tests in one database never count each other's rows. */
const newTenant = () => `t-${randomBytes(4).toString("hex")}`;

/** Feeds `sales` in order, honouring backpressure as the gRPC handler does. */
async function feed(session: StreamSession, sales: readonly Sale[]): Promise<void> {
  for (const sale of sales) await session.add(sale);
}

describe.each(["pglite", "postgres"] as const)("ingest service on %s", (kind) => {
  let db: Kysely<Database>;
  useMigratedDatabase(kind, (handle) => {
    db = handle.db;
  });

  const service = (options: Partial<IngestServiceOptions> = {}): IngestService =>
    createIngestService({
      db,
      limits: LIMITS,
      streamBatchSize: 3,
      unaryBatchSize: 256,
      unaryMaxConcurrentWrites: 4,
      ...options,
    });

  /** The tenant's rows, keyed by idempotency key, with the sale each holds. */
  async function stored(tenantId: string): Promise<Map<string, string>> {
    const rows = await db
      .selectFrom("sales")
      .select(["idempotency_key", "sale_id"])
      .where("tenant_id", "=", tenantId)
      .execute();
    return new Map(rows.map((r) => [r.idempotency_key, r.sale_id]));
  }

  describe("unary ingest", () => {
    it("stores a sale once: accepted, then the same key is a duplicate of the same record", async () => {
      const tenant = newTenant();
      const ingest = service();
      const sale = makeSale();
      const first = await ingest.ingest(tenant, sale, "till-2/1");
      const again = await ingest.ingest(tenant, sale, "till-2/1");
      expect(first).toMatchObject({ outcome: "accepted", idempotencyKey: "till-2/1" });
      expect(again).toMatchObject({
        outcome: "duplicate",
        recordId: first.recordId,
        acceptedAtMicros: first.acceptedAtMicros,
      });
      expect(await stored(tenant)).toEqual(new Map([["till-2/1", sale.saleId]]));
    });

    it("keys a sale by its content when the call has no key", async () => {
      const tenant = newTenant();
      const ingest = service();
      const sale = makeSale();
      const first = await ingest.ingest(tenant, sale);
      const again = await ingest.ingest(tenant, sale);
      expect(again).toMatchObject({ outcome: "duplicate", recordId: first.recordId });
      expect(again.idempotencyKey).toBe(first.idempotencyKey);
      expect((await stored(tenant)).size).toBe(1);
    });

    it("refuses a different sale under a used key and keeps the first", async () => {
      const tenant = newTenant();
      const ingest = service();
      const sale = makeSale();
      await ingest.ingest(tenant, sale, "reused");
      const refused = ingest.ingest(tenant, makeSale(), "reused");
      await expect(refused).rejects.toBeInstanceOf(IdempotencyConflictError);
      await expect(refused).rejects.toMatchObject({ idempotencyKey: "reused" });
      expect(await stored(tenant)).toEqual(new Map([["reused", sale.saleId]]));
    });

    it("refuses an invalid sale naming the field, and writes nothing for it", async () => {
      const tenant = newTenant();
      const ingest = service();
      const bad = ingest.ingest(tenant, makeSale({ currency: "XXQ" }), "bad-currency");
      await expect(bad).rejects.toBeInstanceOf(ValidationError);
      await expect(bad).rejects.toMatchObject({
        violations: [expect.objectContaining({ field: "sale.currency" })],
      });
      await expect(ingest.ingest(tenant, undefined, "no-sale")).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect((await stored(tenant)).size).toBe(0);
    });

    // One batch holding every call, and one statement per call racing the others.
    it.each([
      { unaryBatchSize: 256, unaryMaxConcurrentWrites: 1 },
      { unaryBatchSize: 1, unaryMaxConcurrentWrites: 4 },
    ])("stores one row for concurrent calls of one key (%o)", async (batching) => {
      const tenant = newTenant();
      const ingest = service(batching);
      const sale = makeSale();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => ingest.ingest(tenant, sale, "retried")),
      );
      expect(results.filter((r) => r.outcome === "accepted")).toHaveLength(1);
      expect(new Set(results.map((r) => r.recordId)).size).toBe(1);
      expect(await stored(tenant)).toEqual(new Map([["retried", sale.saleId]]));
      await ingest.drain();
    });
  });

  describe("stream session", () => {
    it("stores records in order over several batches, and a resend as all duplicates", async () => {
      const tenant = newTenant();
      const ingest = service();
      const sales = Array.from({ length: 10 }, () => makeSale());
      const session = ingest.openStream(tenant, "s-order");
      await feed(session, sales);
      expect(await session.finish()).toEqual({
        received: 10,
        accepted: 10,
        duplicate: 0,
        rejected: 0,
        rejectionsOmitted: 0,
        rejections: [],
        idempotencyKey: "s-order",
      });
      expect(await stored(tenant)).toEqual(
        new Map(sales.map((s, i) => [`s-order/${i}`, s.saleId])),
      );

      const resend = ingest.openStream(tenant, "s-order");
      await feed(resend, sales);
      expect(await resend.finish()).toMatchObject({
        received: 10,
        accepted: 0,
        duplicate: 10,
        rejected: 0,
      });
      expect((await stored(tenant)).size).toBe(10);
    });

    it("rejects a bad record in the middle by its offset and stores the others", async () => {
      const tenant = newTenant();
      const ingest = service({ streamBatchSize: 2 });
      const sales = Array.from({ length: 7 }, (_, i) =>
        i === 3 ? makeSale({ currency: "XXQ" }) : makeSale(),
      );
      const session = ingest.openStream(tenant, "s-bad");
      await feed(session, sales);
      const summary = await session.finish();
      expect(summary).toMatchObject({ received: 7, accepted: 6, duplicate: 0, rejected: 1 });
      expect(summary.rejections).toEqual([
        {
          offset: 3,
          reason: "invalid_argument",
          field: "sale.currency",
          message: expect.any(String),
        },
      ]);
      const rows = await stored(tenant);
      expect([...rows.keys()].sort()).toEqual(
        [0, 1, 2, 4, 5, 6].map((offset) => `s-bad/${offset}`),
      );
      expect(rows.get("s-bad/4")).toBe(sales[4]?.saleId);
    });

    it("rejects a resent offset carrying another sale, keeping the first", async () => {
      const tenant = newTenant();
      const ingest = service();
      const sales = [makeSale(), makeSale()];
      const first = ingest.openStream(tenant, "s-conflict");
      await feed(first, sales);
      await first.finish();
      const changed = ingest.openStream(tenant, "s-conflict");
      await feed(changed, [sales[0] as Sale, makeSale()]);
      const summary = await changed.finish();
      expect(summary).toMatchObject({ received: 2, accepted: 0, duplicate: 1, rejected: 1 });
      expect(summary.rejections).toMatchObject([{ offset: 1, reason: "idempotency_conflict" }]);
      expect((await stored(tenant)).get("s-conflict/1")).toBe(sales[1]?.saleId);
    });

    it("stores only whole committed batches when a stream ends without finish", async () => {
      const tenant = newTenant();
      const ingest = service({ streamBatchSize: 3 });
      const sales = Array.from({ length: 7 }, () => makeSale());
      const cut = ingest.openStream(tenant, "s-cut");
      await feed(cut, sales);
      const committed = await cut.settled();
      // Two full batches were written; the seventh record was still buffered and is dropped.
      expect(committed).toEqual({
        received: 7,
        accepted: 6,
        duplicate: 0,
        rejected: 0,
        rejectionsOmitted: 0,
      });
      expect((await stored(tenant)).size).toBe(committed.accepted);

      // Resent in full, the committed records are duplicates and only the rest is new.
      const resend = ingest.openStream(tenant, "s-cut");
      await feed(resend, sales);
      expect(await resend.finish()).toMatchObject({ received: 7, accepted: 1, duplicate: 6 });
      expect((await stored(tenant)).size).toBe(7);
    });

    it("counts only the batches that committed when one in flight fails", async () => {
      const tenant = newTenant();
      let writes = 0;
      // The second batch's write fails as a database outage would, at the breaker boundary.
      const ingest = service({
        streamBatchSize: 3,
        guard: (operation) =>
          ++writes === 2 ? Promise.reject(new Error("database unavailable")) : operation(),
      });
      const cut = ingest.openStream(tenant, "s-fail");
      await feed(
        cut,
        Array.from({ length: 7 }, () => makeSale()),
      );
      const committed = await cut.settled();
      expect(committed).toMatchObject({ received: 7, accepted: 3 });
      const rows = await stored(tenant);
      expect(rows.size).toBe(committed.accepted);
      expect([...rows.keys()].sort()).toEqual(["s-fail/0", "s-fail/1", "s-fail/2"]);
    });
  });
});
