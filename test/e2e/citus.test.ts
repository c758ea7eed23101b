import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestRequestSchema, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { createDatabase } from "../../src/storage/database.js";
import { distributeTables } from "../../src/storage/distribute.js";
import { failure } from "../support/calls.js";
import { createTestSchema, query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { postVoidOf, zurichKiosk } from "../support/receipts-v2.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

// The exactly-once and isolation guarantees on a distributed schema: a real Citus coordinator
// given by CITUS_URL (its workers already added), the app's own migrate placing the tables.
// Citus has no Debian package here, so this runs where one is given (README, "Scaling out").
const CITUS_URL = process.env.CITUS_URL;
if (!CITUS_URL) {
  process.stderr.write(
    "citus.test.ts skipped: CITUS_URL is not set (a Citus coordinator's database with the " +
      "citus extension and its workers added; see README, Scaling out)\n",
  );
}

describe.skipIf(!CITUS_URL)("on a Citus cluster (CITUS_URL)", () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    const schema = await createTestSchema(CITUS_URL as string);
    url = schema.url;
    const version = await query<{ v: string }>(
      url,
      "select extversion as v from pg_extension where extname = 'citus'",
    );
    if (version.length === 0) {
      await schema.drop();
      throw new Error(`CITUS_URL (${CITUS_URL}) has no citus extension: it is not a coordinator`);
    }
    // Start-up migrates and places the tables (MIGRATE_ON_START), as a first deploy does.
    server = await startTestServer({ testDatabase: schema });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  async function count(tenant: string, prefix: string): Promise<number> {
    const rows = await query<{ n: string }>(
      url,
      "select count(*) as n from sales where tenant_id = $1 and starts_with(idempotency_key, $2)",
      [tenant, prefix],
    );
    return Number(rows[0]?.n);
  }

  async function* requests(sales: Iterable<Sale>) {
    for (const sale of sales) yield create(IngestRequestSchema, { sale });
  }

  it("distributes sales by tenant and makes tenants and api_keys reference tables, once", async () => {
    const placed = await query<{ t: string; method: string; column: string | null }>(
      url,
      `select logicalrelid::regclass::text as t, partmethod as method,
              case when partkey is null then null
                   else column_to_column_name(logicalrelid, partkey) end as column
       from pg_dist_partition
       where logicalrelid in (to_regclass('sales'), to_regclass('tenants'), to_regclass('api_keys'))
       order by 1`,
    );
    expect(placed.map((p) => [p.t.split(".").at(-1), p.method, p.column])).toEqual([
      ["api_keys", "n", null],
      ["sales", "h", "tenant_id"],
      ["tenants", "n", null],
    ]);
    const again = createDatabase({ kind: "postgres", url, poolMax: 1 });
    try {
      const report = await distributeTables(again.db);
      expect(report.citus).toBeDefined();
      if (report.citus !== undefined) {
        expect(report.tables.map((t) => t.action)).toEqual(["present", "present", "present"]);
      }
    } finally {
      await again.close();
    }
  });

  it("stores one row for 50 concurrent calls with one key, and answers the rest as duplicates", async () => {
    const sale = makeSale();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        server
          .client()
          .ingest({ sale }, auth(server.keys.acme, "citus-same"))
          .then((r) => r.outcome),
      ),
    );
    expect(outcomes.filter((o) => o === Outcome.ACCEPTED)).toHaveLength(1);
    expect(outcomes.filter((o) => o === Outcome.DUPLICATE)).toHaveLength(49);
    expect(await count("acme", "citus-same")).toBe(1);
    const reused = await failure(
      server.client().ingest({ sale: makeSale() }, auth(server.keys.acme, "citus-same")),
    );
    expect(reused.code).toBe(Code.FailedPrecondition);
  });

  it("stores a stream once however often it is resent, the two tenants apart", async () => {
    const sales = Array.from({ length: 1_200 }, () => makeSale());
    for (const key of [server.keys.acme, server.keys.globex]) {
      const first = await server.client().ingestStream(requests(sales), auth(key, "citus-stream"));
      const again = await server.client().ingestStream(requests(sales), auth(key, "citus-stream"));
      expect(first).toMatchObject({ accepted: 1_200n, duplicate: 0n, rejected: 0n });
      expect(again).toMatchObject({ accepted: 0n, duplicate: 1_200n, rejected: 0n });
    }
    expect(await count("acme", "citus-stream/")).toBe(1_200);
    expect(await count("globex", "citus-stream/")).toBe(1_200);
  });

  it("keeps a tenant's key its own: the same key under two tenants is two sales", async () => {
    const a = makeSale();
    const b = makeSale();
    const ra = await server.client().ingest({ sale: a }, auth(server.keys.acme, "citus-iso"));
    const rb = await server.client().ingest({ sale: b }, auth(server.keys.globex, "citus-iso"));
    expect([ra.outcome, rb.outcome]).toEqual([Outcome.ACCEPTED, Outcome.ACCEPTED]);
    expect(ra.recordId).not.toBe(rb.recordId);
    const stored = await query<{ tenant_id: string; sale_id: string }>(
      url,
      "select tenant_id, sale_id from sales where idempotency_key = 'citus-iso' order by 1",
    );
    expect(stored).toEqual([
      { tenant_id: "acme", sale_id: a.saleId },
      { tenant_id: "globex", sale_id: b.saleId },
    ]);
  });

  it("voids a transaction once, on its tenant's shard", async () => {
    const original = zurichKiosk();
    const stream = await server
      .client()
      .ingestStream(
        requests([original, postVoidOf(original)]),
        auth(server.keys.acme, "citus-void"),
      );
    expect(stream).toMatchObject({ accepted: 2n, rejected: 0n });
    const twice = await failure(
      server
        .client()
        .ingest({ sale: postVoidOf(original) }, auth(server.keys.acme, "citus-void-2")),
    );
    expect(twice.code).toBe(Code.FailedPrecondition);
    expect(twice.rawMessage).toMatch(/already voided/);
  });
});
