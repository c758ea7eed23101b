import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestRequestSchema, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { backfillLedger } from "../../src/ingest/ledger-backfill.js";
import { createDatabase } from "../../src/storage/database.js";
import { failure } from "../support/calls.js";
import { connectReconcile, type ReconcileConnection } from "../support/connect-client.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { chicagoReturn, chicagoStore, postVoidOf, zurichKiosk } from "../support/receipts-v2.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";
import { type CapturedStatement, checkTenantScope } from "../support/tenant-scope.js";

// Every statement the service issues on tenant data names one tenant, so Citus routes it to one
// shard (issue 14). Proven portably: a mixed run against real PostgreSQL records every statement
// (the app's query hook), then PostgreSQL's own planner says, per statement, which tenants each
// scan of `sales` and each inserted row are held to.

let server: TestServer;
let reconcileClient: ReconcileConnection;
const captured: CapturedStatement[] = [];

beforeAll(async () => {
  server = await startTestServer({
    onQuery: (sql, _ms, _failed, parameters) => captured.push({ sql, parameters }),
    // Small batches, so a stream's records take several statements and the unary calls below
    // queue behind each other and group.
    config: {
      batching: { streamBatchSize: 50, unaryBatchSize: 64, unaryMaxConcurrentWrites: 1 },
    },
  });
  reconcileClient = connectReconcile(server.baseUrl);
});

afterAll(async () => {
  await server?.stop();
  reconcileClient?.close();
});

async function* requests(sales: Iterable<Sale>) {
  for (const sale of sales) yield create(IngestRequestSchema, { sale });
}

async function mixedRun(): Promise<void> {
  const client = server.client();
  const reconciler = reconcileClient.client;
  const { acme, globex } = server.keys;
  // Unary calls of both tenants at once: the group commit batches them, one tenant a batch.
  const sales = Array.from({ length: 60 }, () => makeSale());
  const outcomes = await Promise.all(
    sales.map((sale, i) =>
      client.ingest({ sale }, auth(i % 2 ? acme : globex, `route-${i}`)).then((r) => r.outcome),
    ),
  );
  expect(outcomes.every((o) => o === Outcome.ACCEPTED)).toBe(true);
  // Retries of both tenants at once (the read-back), and a key reused for another sale.
  const again = await Promise.all(
    sales
      .slice(0, 20)
      .map((sale, i) =>
        client.ingest({ sale }, auth(i % 2 ? acme : globex, `route-${i}`)).then((r) => r.outcome),
      ),
  );
  expect(again.every((o) => o === Outcome.DUPLICATE)).toBe(true);
  const reused = await failure(client.ingest({ sale: makeSale() }, auth(acme, "route-1")));
  expect(reused.code).toBe(Code.FailedPrecondition);

  // Returns and voids: a post-void and its original in one stream (the guard), a second void of
  // the same original (refused and explained), a void that does not cancel its original.
  const original = zurichKiosk();
  const bought = chicagoStore();
  const stream = await client.ingestStream(
    requests([
      original,
      postVoidOf(original),
      bought,
      chicagoReturn({ originalSaleId: bought.saleId }),
    ]),
    auth(acme, "route-stream-voids"),
  );
  expect(stream).toMatchObject({ accepted: 4n, rejected: 0n });
  const twice = await failure(
    client.ingest({ sale: postVoidOf(original) }, auth(acme, "route-void-2")),
  );
  expect(twice.code).toBe(Code.FailedPrecondition);
  const mismatched = postVoidOf(makeSale({ saleId: "route-never-stored" }));
  const lone = await client.ingestStream(requests([mismatched]), auth(globex, "route-lone-void"));
  expect(lone.received).toBe(1n);

  // Reconciliations of both tenants at once: by business day and register, and by a range.
  const day = new Date().toISOString().slice(0, 10);
  const figures = { counts: { sales: 1n }, currencies: [{ currency: "EUR", totalMinor: 1n }] };
  const reconciled = await Promise.all([
    reconciler.reconcile(
      { scope: { locationId: "store-7", period: { case: "businessDay", value: day } }, figures },
      auth(acme),
    ),
    reconciler.reconcile(
      {
        scope: {
          locationId: "store-7",
          registerId: "till-2",
          period: {
            case: "occurred",
            value: {
              start: timestampFromDate(new Date(Date.now() - 86_400_000)),
              end: timestampFromDate(new Date()),
            },
          },
        },
        figures,
      },
      auth(globex),
    ),
  ]);
  expect(reconciled.map((r) => r.match)).toEqual([false, false]);
  // The key search of both tenants: digests over ranges and a page of keys.
  const scope = { locationId: "store-7", period: { case: "businessDay" as const, value: day } };
  await Promise.all([
    reconciler.digestKeys(
      {
        scope,
        ranges: [{ from: "", to: "m" }, { from: "m" }],
        asOf: timestampFromDate(new Date()),
      },
      auth(acme),
    ),
    reconciler.listKeys({ scope, range: { from: "a", to: "z" }, pageToken: "b" }, auth(globex)),
  ]);

  // Streams of both tenants at once, resent (duplicates by the batch).
  const streamed = Array.from({ length: 180 }, () => makeSale());
  for (let round = 0; round < 2; round++) {
    const results = await Promise.all([
      client.ingestStream(requests(streamed), auth(acme, "route-stream")),
      client.ingestStream(requests(streamed), auth(globex, "route-stream")),
    ]);
    for (const r of results) expect(r.received).toBe(180n);
  }
}

describe("tenant routing: every statement on tenant data names one tenant", () => {
  it("holds for a mixed run of unary calls, streams, retries, conflicts, voids, reports and the backfill", async () => {
    await mixedRun();
    const url = server.databaseUrl as string;
    // Rows as stored before the ledger columns, for the backfill to fill.
    await query(url, "update sales set net_minor = null where idempotency_key like 'route-1%'");
    // The README's reports and the ledger backfill, through the same hook.
    const reports = createDatabase(
      { kind: "postgres", url, poolMax: 2 },
      (sql, _ms, _f, parameters) => captured.push({ sql, parameters }),
    );
    try {
      await backfillLedger(reports.db, { batchSize: 10 });
    } finally {
      await reports.close();
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const checked = await checkTenantScope(client, [...captured, ...readmeReports("acme")]);
      // The one exception, by design: the backfill asks once per run which tenants have rows to
      // fill (ledger-repository.ts, tenantsWithoutLedger); it fills them tenant by tenant.
      const failing = checked.filter((s) => s.problems.length > 0 && !isTenantDiscovery(s.sql));
      expect(checked.filter((s) => isTenantDiscovery(s.sql))).toHaveLength(1);
      expect(failing.map((s) => ({ sql: s.sql.slice(0, 300), problems: s.problems }))).toEqual([]);
      // The run reached every kind of statement on tenant data, so the check above means something.
      const kinds = new Set(checked.map((s) => statementKind(s.sql)));
      expect([...kinds].sort()).toEqual(
        [
          "insert",
          "insert with void guard",
          "reconcile",
          "key digest",
          "key page",
          "read-back",
          "void explanation",
          "report",
          "backfill tenants",
          "backfill read",
          "backfill write",
        ].sort(),
      );
      expect(new Set(checked.flatMap((s) => s.tenants))).toEqual(new Set(["acme", "globex"]));
    } finally {
      await client.end();
    }
  });

  it("finds the statement forms Citus sends to every shard", async () => {
    const client = new pg.Client({ connectionString: server.databaseUrl as string });
    await client.connect();
    try {
      const keys = JSON.stringify([{ tenant_id: "acme", idempotency_key: "route-1" }]);
      const checked = await checkTenantScope(client, [
        // The read-back before issue 14: a join on a document's tenant column.
        {
          sql: `select s.id from jsonb_to_recordset($1::jsonb) as k(tenant_id text, idempotency_key text)
                join sales s on s.tenant_id = k.tenant_id and s.idempotency_key = k.idempotency_key`,
          parameters: [keys],
        },
        {
          sql: "select count(*) from sales where tenant_id in ($1, $2)",
          parameters: ["acme", "globex"],
        },
        { sql: "select count(*) from net_sales_daily", parameters: [] },
        {
          sql: `insert into sales (tenant_id, idempotency_key, id, payload_hash, source, location_id,
                  register_id, sale_id, occurred_at, currency, total_minor, sale)
                select t, 'k', gen_random_uuid(), '\\x00', 's', 'l', 'r', 's', now(), 'EUR', 0, '\\x00'
                from unnest($1::text[]) t on conflict do nothing`,
          parameters: [["acme", "globex"]],
        },
      ]);
      expect(checked).toHaveLength(4);
      for (const s of checked) expect(s.problems, s.sql).not.toEqual([]);
    } finally {
      await client.end();
    }
  });
});

/** The README's report queries (section "Returns, voids and the ledger"), for one tenant. */
function readmeReports(tenant: string): CapturedStatement[] {
  return [
    {
      sql: `select location_id, business_day, currency, net_minor from net_sales_daily
            where tenant_id = $1 and business_day between $2 and $3 order by 1, 2, 3`,
      parameters: [tenant, "2026-01-01", "2026-12-31"],
    },
    {
      sql: `select r.id, r.kind, r.net_minor, o.id as original_id, o.net_minor as original_net,
                   coalesce(o.business_day, (o.occurred_at at time zone 'UTC')::date) as original_day
            from sales r
            left join sales o
              on o.tenant_id = r.tenant_id and o.kind <> 'post_void'
             and (case when r.original_idempotency_key is not null
                       then o.idempotency_key = r.original_idempotency_key
                       else (o.source, o.location_id, o.sale_id)
                          = (r.original_source, r.original_location_id, r.original_sale_id) end)
            where r.tenant_id = $1 and r.original_sale_id is not null
            order by r.id`,
      parameters: [tenant],
    },
  ];
}

function isTenantDiscovery(sql: string): boolean {
  return /^select distinct "tenant_id" from "sales" where \(net_minor is null or tender_types is null\) order by "tenant_id"$/.test(
    sql,
  );
}

function statementKind(sql: string): string {
  if (isTenantDiscovery(sql)) return "backfill tenants";
  if (/insert into sales/i.test(sql)) {
    return /post_void'\s*or not exists/.test(sql) ? "insert with void guard" : "insert";
  }
  if (/^\s*update sales/i.test(sql)) return "backfill write";
  // Before the backfill read: it counts the rows without a ledger too.
  if (/group by rollup \(currency\)/.test(sql)) return "reconcile";
  if (/width_bucket/.test(sql)) return "key digest";
  if (/order by idempotency_key collate "C"/.test(sql)) return "key page";
  if (/net_minor" is null|net_minor is null/.test(sql)) return "backfill read";
  if (/voided_by/.test(sql)) return "void explanation";
  if (/idempotency_key = any/.test(sql)) return "read-back";
  if (/net_sales_daily|left join sales o/.test(sql)) return "report";
  return `other: ${sql.slice(0, 60)}`;
}
