import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DigestKeysRequestSchema,
  ListKeysRequestSchema,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  Code,
  createIngestClient,
  type IngestClient,
  keyDigestOf,
  saleKey,
  zReport,
} from "../../src/client/index.js";
import { connectReconcile, type ReconcileConnection } from "../support/connect-client.js";
import { makeSale } from "../support/fixtures.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

// Finding exactly which transactions differ, against a real server on Postgres: the gateway's
// keys bisected against the server's by key-range digests (DigestKeys) down to ranges small
// enough to list (ListKeys). The gateway's digests are computed in TypeScript, the server's in
// SQL: every test here also holds the two implementations of h(key) equal.

const DAY = "2026-11-28";
const BIG_STORE = "keys-big-store";
const SMALL_STORE = "keys-small-store";

let server: TestServer;
let acme: IngestClient;
let raw: ReconcileConnection;

/** `n` sales of DAY at `store`, numbered so their keys spread over the key space. */
function daySales(store: string, n: number, prefix = "r"): Sale[] {
  return Array.from({ length: n }, (_, i) =>
    makeSale({
      locationId: store,
      saleId: `${prefix}-${((i * 7919) % 100_003).toString(36)}-${i}`,
      businessDay: DAY,
      occurredAt: timestampFromDate(new Date(`${DAY}T12:00:00Z`)),
    }),
  );
}

beforeAll(async () => {
  server = await startTestServer();
  acme = createIngestClient({ baseUrl: server.baseUrl, apiKey: server.keys.acme });
  raw = connectReconcile(server.baseUrl);
});

afterAll(async () => {
  acme?.close();
  raw?.close();
  await server?.stop();
});

describe("key digests", () => {
  it("the server's digest of the stored keys is the client's of the keys it sent", async () => {
    const sales = daySales(SMALL_STORE, 40, "d");
    const result = await acme.ingestMany(sales);
    expect(result.accepted).toBe(40);
    const answer = await acme.reconcile({
      locationId: SMALL_STORE,
      businessDay: DAY,
      figures: zReport(sales),
      keys: sales.map((s) => saleKey(s)),
    });
    expect(answer.keys).toEqual(keyDigestOf(sales.map((s) => saleKey(s))));
    expect(answer.keys.count).toBe(40n);
    expect(answer.match).toBe(true);
    expect(answer.keyDifferences).toBeUndefined();
    expect(answer.calls).toBe(1);
  });
});

describe("finding the transactions that differ", () => {
  let sales: Sale[];
  let neverSent: Sale[];
  let otherKey: Sale;

  beforeAll(async () => {
    sales = daySales(BIG_STORE, 3_000);
    // Ten never reached the server; one was sent under a key of the gateway's own making.
    neverSent = [3, 301, 302, 777, 1200, 1201, 1202, 2048, 2500, 2999].map((i) => sales[i] as Sale);
    otherKey = sales[1500] as Sale;
    const sent = sales.filter((s) => !neverSent.includes(s) && s !== otherKey);
    expect((await acme.ingestMany(sent)).accepted).toBe(sent.length);
    expect((await acme.ingest(otherKey, { idempotencyKey: "till-7/retry/1500" })).outcome).toBe(
      "accepted",
    );
  });

  it("bisects to exactly the missing keys and the one stored under another key", async () => {
    const answer = await acme.reconcile(
      {
        locationId: BIG_STORE,
        businessDay: DAY,
        figures: zReport(sales),
        keys: sales.map((s) => saleKey(s)),
      },
      // Small leaves force several rounds of digests on a day this size.
      { search: { fanout: 4, leaf: 8 } },
    );
    expect(answer.match).toBe(false);
    expect(answer.differences.map((d) => d.figure)).toContain("keys.count");
    const found = answer.keyDifferences;
    expect(found).toBeDefined();
    expect(found?.missing).toEqual([...neverSent, otherKey].map((s) => saleKey(s)).sort());
    expect(found?.extra).toEqual([
      {
        key: "till-7/retry/1500",
        source: otherKey.source,
        saleId: otherKey.saleId,
        kind: TransactionKind.SALE,
        currency: otherKey.currency,
        totalMinor: otherKey.totals?.totalMinor,
      },
    ]);
    expect(found?.truncated).toBe(false);
    expect(found?.rounds).toBeGreaterThan(3);
    expect(found?.digestCalls).toBeGreaterThan(0);
    expect(answer.calls).toBe(1 + (found?.digestCalls ?? 0) + (found?.listCalls ?? 0));
  });

  it("with the default search: few messages, each bounded", async () => {
    const answer = await acme.reconcile({
      locationId: BIG_STORE,
      businessDay: DAY,
      figures: zReport(sales),
      keys: sales.map((s) => saleKey(s)),
    });
    expect(answer.keyDifferences?.missing).toHaveLength(11);
    expect(answer.keyDifferences?.extra.map((e) => e.key)).toEqual(["till-7/retry/1500"]);
    // 3,000 keys split 16 ways are ranges of 188 (≤ 256, listed): one DigestKeys and at most one
    // ListKeys per differing range.
    expect(answer.keyDifferences?.digestCalls).toBe(1);
    expect(answer.keyDifferences?.listCalls).toBeLessThanOrEqual(11);
  });

  it("stops at maxDifferences and says so", async () => {
    const answer = await acme.reconcile(
      {
        locationId: BIG_STORE,
        businessDay: DAY,
        figures: zReport(sales),
        keys: sales.map((s) => saleKey(s)),
      },
      { search: { maxDifferences: 3 } },
    );
    const found = answer.keyDifferences;
    expect((found?.missing.length ?? 0) + (found?.extra.length ?? 0)).toBe(3);
    expect(found?.truncated).toBe(true);
  });

  it("a day the server has none of is all missing, without a search", async () => {
    const unsent = daySales("keys-empty-store", 500, "e");
    const answer = await acme.reconcile({
      locationId: "keys-empty-store",
      businessDay: DAY,
      figures: zReport(unsent),
      keys: unsent.map((s) => saleKey(s)),
    });
    expect(answer.keyDifferences?.missing).toHaveLength(500);
    expect(answer.calls).toBe(1);
  });

  it("keeps comparing the snapshot of the first call while sales keep arriving", async () => {
    const late = daySales(BIG_STORE, 200, "late");
    const arriving = acme.ingestMany(late);
    const answers = await Promise.all(
      [0, 1, 2].map(() =>
        acme.reconcile({
          locationId: BIG_STORE,
          businessDay: DAY,
          figures: zReport(sales),
          keys: sales.map((s) => saleKey(s)),
        }),
      ),
    );
    expect((await arriving).accepted).toBe(200);
    for (const answer of answers) {
      const found = answer.keyDifferences;
      // Whatever arrived before a reconciliation's snapshot is extra, everything after it is
      // unseen; never a key of the day reported missing that the server holds.
      expect(found?.missing).toEqual([...neverSent, otherKey].map((s) => saleKey(s)).sort());
      const lateKeys = new Set(late.map((s) => saleKey(s)));
      const extras = found?.extra.map((e) => e.key) ?? [];
      expect(extras.filter((k) => !lateKeys.has(k))).toEqual(["till-7/retry/1500"]);
      // At least the late sales the Reconcile snapshot counted (2,990 of the day's rows are
      // stored); more only for one whose transaction began before it and committed after.
      expect(extras.length - 1).toBeGreaterThanOrEqual(Number(answer.keys.count - 2_990n));
    }
  });
});

describe("DigestKeys and ListKeys refuse what they cannot answer", () => {
  const scope = { locationId: BIG_STORE, period: { case: "businessDay" as const, value: DAY } };
  const refusal = async (call: Promise<unknown>) => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    return err as { code: number; rawMessage: string; findDetails: unknown };
  };

  it("ranges out of order name the range", async () => {
    const err = await refusal(
      raw.client.digestKeys(
        create(DigestKeysRequestSchema, {
          scope,
          ranges: [
            { from: "m", to: "p" },
            { from: "a", to: "c" },
          ],
        }),
        auth(server.keys.acme),
      ),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(String(err.rawMessage)).toContain("ranges[1].from");
  });

  it("too many ranges, a page too big and a bound that is no key are refused by field", async () => {
    const tooMany = await refusal(
      raw.client.digestKeys(
        create(DigestKeysRequestSchema, {
          scope,
          ranges: Array.from({ length: 65 }, (_, i) => ({
            from: `k${String(i).padStart(3, "0")}`,
            to: `k${String(i).padStart(3, "0")}~`,
          })),
        }),
        auth(server.keys.acme),
      ),
    );
    expect(tooMany.code).toBe(Code.InvalidArgument);
    expect(String(tooMany.rawMessage)).toContain("ranges");
    const page = await refusal(
      raw.client.listKeys(
        create(ListKeysRequestSchema, { scope, pageSize: 5000 }),
        auth(server.keys.acme),
      ),
    );
    expect(page.code).toBe(Code.InvalidArgument);
    expect(String(page.rawMessage)).toContain("page_size");
    const bound = await refusal(
      raw.client.listKeys(
        create(ListKeysRequestSchema, { scope, range: { from: "é", to: "" } }),
        auth(server.keys.acme),
      ),
    );
    expect(String(bound.rawMessage)).toContain("range.from");
  });

  it("without a key, UNAUTHENTICATED", async () => {
    const err = await refusal(raw.client.listKeys(create(ListKeysRequestSchema, { scope })));
    expect(err.code).toBe(Code.Unauthenticated);
  });

  it("pages a range in byte order, the last key as the token", async () => {
    const first = await raw.client.listKeys(
      create(ListKeysRequestSchema, { scope, pageSize: 100 }),
      auth(server.keys.acme),
    );
    expect(first.keys).toHaveLength(100);
    expect(first.nextPageToken).toBe(first.keys.at(-1)?.idempotencyKey);
    const second = await raw.client.listKeys(
      create(ListKeysRequestSchema, { scope, pageSize: 100, pageToken: first.nextPageToken }),
      auth(server.keys.acme),
    );
    const keys = [...first.keys, ...second.keys].map((k) => k.idempotencyKey);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys).size).toBe(200);
  });
});

describe("on embedded PGlite", () => {
  it("digests and lists keys as on Postgres", async () => {
    const embedded = await startTestServer({ database: "pglite" });
    const client = createIngestClient({ baseUrl: embedded.baseUrl, apiKey: embedded.keys.acme });
    try {
      const sales = daySales("keys-embedded", 300, "p");
      const sent = sales.filter((_, i) => i !== 17 && i !== 250);
      expect((await client.ingestMany(sent)).accepted).toBe(298);
      const answer = await client.reconcile(
        {
          locationId: "keys-embedded",
          businessDay: DAY,
          figures: zReport(sales),
          keys: sales.map((s) => saleKey(s)),
        },
        { search: { fanout: 4, leaf: 16 } },
      );
      expect(answer.keys).toEqual(keyDigestOf(sent.map((s) => saleKey(s))));
      expect(answer.keyDifferences?.missing).toEqual(
        [sales[17], sales[250]].map((s) => saleKey(s as Sale)).sort(),
      );
      expect(answer.keyDifferences?.extra).toEqual([]);
      expect(answer.keyDifferences?.digestCalls).toBeGreaterThan(1);
    } finally {
      client.close();
      await embedded.stop();
    }
  });
});
