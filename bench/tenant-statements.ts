/**
 * The statement forms of issue 14 on plain PostgreSQL, alternating in one run: the read-back of
 * stored keys (a retry's, a resent batch's) before and after it named one tenant, and the batch
 * INSERT as the service writes it (one tenant parameter) against multi-row VALUES, the form Citus
 * routes straight to a shard. Prints ms per statement and Postgres CPU µs per row, median of the
 * rounds; the machine is shared, so the figures of one round are never the verdict.
 *
 *   npm run build && node dist/bench/tenant-statements.js [--rounds 7] [--tenants 20] [--rows 100000]
 */
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { sql } from "kysely";
import { SaleSchema } from "../gen/pos/ingest/v1/sale_pb.js";
import { fingerprintSale, uuidv7 } from "../src/ingest/canonical.js";
import { toSaleRow } from "../src/ingest/mapping.js";
import { findSales, insertSales, type SaleRow } from "../src/ingest/repository.js";
import { createDatabase } from "../src/storage/database.js";
import { createFreshDatabase } from "./fresh-database.js";
import { batchInsert, salesRows } from "./pg-insert-forms.js";
import { postgresCpuSeconds } from "./process-stats.js";
import { v1Sale } from "./typical-sales.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    tenants: { type: "string", default: "20" },
    rows: { type: "string", default: "100000" },
    batch: { type: "string", default: "500" },
  },
});
const rounds = Number(values.rounds);
const tenants = Number(values.tenants);
const rowCount = Number(values.rows);
const batch = Number(values.batch);
const baseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const fresh = await createFreshDatabase(baseUrl);
const handle = createDatabase({ kind: "postgres", url: fresh.url, poolMax: 1 });
try {
  const sale = v1Sale();
  const fingerprint = fingerprintSale(sale, toBinary(SaleSchema, sale));
  const tenantOf = (i: number) => `tenant-${String(i % tenants).padStart(3, "0")}`;
  const rowFor = (tenant: string, key: string): SaleRow =>
    toSaleRow(tenant, key, uuidv7(), fingerprint, sale);
  process.stderr.write(`storing ${rowCount} rows over ${tenants} tenants...\n`);
  for (let t = 0; t < tenants; t++) {
    const tenant = tenantOf(t);
    for (let from = 0; from < rowCount / tenants; from += batch) {
      const rows = Array.from({ length: batch }, (_, i) => rowFor(tenant, `k/${from + i}`));
      await insertSales(handle.db, tenant, rows);
    }
  }
  await fresh.query("analyze sales");

  // The read-back of `batch` stored keys of one tenant, in each form.
  const keysOf = (round: number) =>
    Array.from({ length: batch }, (_, i) => `k/${(round * 7_919 + i * 13) % (rowCount / tenants)}`);
  const readForms: Record<string, (tenant: string, keys: string[]) => Promise<unknown>> = {
    // Before issue 14: a join on a document of (tenant, key) pairs, which Citus sends to every shard.
    // Through Kysely like findSales, so only the statement differs.
    "read-back, (tenant, key) document join": (tenant, keys) => {
      const document = JSON.stringify(keys.map((k) => ({ tenant_id: tenant, idempotency_key: k })));
      return sql`
        select s.idempotency_key, s.id::text as id,
               (extract(epoch from s.accepted_at) * 1000000)::int8::text as accepted_us,
               encode(s.payload_hash, 'hex') as payload_hash
        from jsonb_to_recordset(${document}::jsonb) as k(tenant_id text, idempotency_key text)
        join sales s on s.tenant_id = k.tenant_id and s.idempotency_key = k.idempotency_key`.execute(
        handle.db,
      );
    },
    // The service's now (findSales): tenant = $1 and key = any($2), Citus' fast path.
    "read-back, tenant = $1 and key = any($2)": (tenant, keys) =>
      findSales(handle.db, tenant, keys),
  };
  let serial = 0;
  const writeForms: Record<string, (tenant: string) => Promise<unknown>> = {
    "insert, json + bytea, one tenant parameter (the service's)": (tenant) => {
      serial++;
      const rows = Array.from({ length: batch }, (_, i) => rowFor(tenant, `w/${serial}/${i}`));
      return insertSales(handle.db, tenant, rows);
    },
    "insert, multi-row VALUES (Citus routes it to a shard)": (tenant) => {
      serial++;
      const rows = salesRows(sale, `v/${serial}`, batch).map((r) => ({ ...r, tenantId: tenant }));
      const statement = batchInsert("multi-row VALUES", rows);
      return fresh.query(statement.text, statement.values);
    },
  };

  const samples = new Map<string, { ms: number[]; cpuUsPerRow: number[] }>();
  const measure = async (
    name: string,
    run: (tenant: string, round: number) => Promise<unknown>,
  ) => {
    const statements = 40;
    const cpu0 = postgresCpuSeconds() ?? 0;
    const t0 = performance.now();
    for (let s = 0; s < statements; s++) await run(tenantOf(s), s);
    const ms = (performance.now() - t0) / statements;
    const cpu = ((postgresCpuSeconds() ?? 0) - cpu0) * 1e6;
    const entry = samples.get(name) ?? { ms: [], cpuUsPerRow: [] };
    entry.ms.push(ms);
    entry.cpuUsPerRow.push(cpu / (statements * batch));
    samples.set(name, entry);
  };
  for (let round = 0; round < rounds; round++) {
    // Alternating order, so neither form always runs on the warmer cache.
    const reads = Object.entries(readForms);
    const writes = Object.entries(writeForms);
    if (round % 2) reads.reverse();
    if (round % 2) writes.reverse();
    for (const [name, run] of reads) await measure(name, (t, s) => run(t, keysOf(round * 40 + s)));
    for (const [name, run] of writes) await measure(name, (t) => run(t));
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  process.stdout.write(
    `\n${rowCount} stored rows over ${tenants} tenants, ${batch} keys or rows a statement, ` +
      `${rounds} alternating rounds of 40 statements each (median):\n\n` +
      "| statement | ms per statement | Postgres CPU µs per row |\n| --- | ---: | ---: |\n",
  );
  for (const [name, s] of samples) {
    process.stdout.write(
      `| ${name} | ${median(s.ms).toFixed(2)} | ${median(s.cpuUsPerRow).toFixed(1)} |\n`,
    );
  }
} finally {
  await handle.close();
  await fresh.drop();
}
