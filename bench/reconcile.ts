/**
 * `npm run bench:reconcile`: what it costs to reconcile a 100,000-transaction day (issue 16), on
 * a fresh database through the real service in a child process: a matching day (one Reconcile
 * call), the same day with 10 transactions the gateway holds and the server lacks (Reconcile, then
 * the bisection over DigestKeys and ListKeys), and the naive baseline (every stored key of the day
 * with ListKeys, diffed in memory). Time, calls, message sizes, gateway and server memory, server
 * and Postgres CPU; rounds alternate the order. Table to stdout, JSON to bench/results/.
 *
 *   node --expose-gc dist/bench/reconcile.js [--day-size 100000] [--other-days 1] [--rounds 3]
 *     [--missing 10] [--no-day-index] [--key-index] [--model 100000,1000000]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createIngestClient } from "../src/client/index.js";
import { SortedKeys } from "../src/client/key-digest.js";
import { cleanUpOnInterrupt } from "./cleanup.js";
import { createFreshDatabase } from "./fresh-database.js";
import { machineFacts } from "./machine.js";
import { createMessageMeter } from "./message-meter.js";
import { cpuSeconds, postgresCpuSeconds, rssMiB, sampleRss } from "./process-stats.js";
import { BENCH_LOCATION, daySales, unsentIndexes } from "./reconcile-day.js";
import { gatewayDay, listAllAndDiff, rawReconcileClient } from "./reconcile-gateway.js";
import { storeDayDirectly } from "./reconcile-load.js";
import { type ModelRun, modelSearch, syntheticDay } from "./reconcile-model.js";
import { type RunSample, reconcileTable, summarise } from "./reconcile-report.js";
import { redactedUrl, writeResults } from "./results-file.js";
import { startServer } from "./server-process.js";

const { values } = parseArgs({
  options: {
    "day-size": { type: "string", default: "100000" },
    "other-days": { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    missing: { type: "string", default: "10" },
    "no-day-index": { type: "boolean", default: false },
    /** An index that orders a day's keys, for DigestKeys and ListKeys (not in the schema). */
    "key-index": { type: "boolean", default: false },
    /** Day sizes for the bisection against a server played in memory (reconcile-model.ts). */
    model: { type: "string", default: "100000,1000000" },
  },
});
const stored = Number(values["day-size"]);
const otherDays = Number(values["other-days"]);
const rounds = Number(values.rounds);
const missingCount = Number(values.missing);
const dayIndex = !values["no-day-index"];
const keyIndex = values["key-index"];
const modelSizes = values.model.split(",").filter(Boolean).map(Number);
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const DAY = "2026-11-27";
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const log = (line: string) => process.stderr.write(`${line}\n`);

cleanUpOnInterrupt();
const when = new Date().toISOString();
const machine = await machineFacts(databaseUrl);
const db = await createFreshDatabase(databaseUrl);
const size = stored + missingCount;
const unsent = new Set(unsentIndexes(size, missingCount));
const results: Record<string, unknown> = {};
const model: ModelRun[] = [];
try {
  // 1. The tenant's other days, written by the service's own row code (reconcile-load.ts); then
  // the measured day through the service, as a gateway sends it, all but the unsent.
  const load: Record<string, unknown> = {};
  for (let d = otherDays; d >= 1; d--) {
    const day = new Date(Date.parse(`${DAY}T00:00:00Z`) - d * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const began = performance.now();
    await storeDayDirectly(db.url, day, stored);
    load[day] = { direct: Math.round(stored / ((performance.now() - began) / 1000)) };
    log(`stored ${day} directly: ${stored} transactions, ${JSON.stringify(load[day])}/s`);
  }
  const loader = await startServer({ databaseUrl: db.url, nodeArgs: [] });
  const loading = createIngestClient({ baseUrl: `http://${loader.target}`, apiKey: db.token });
  try {
    const began = performance.now();
    const cpu0 = [cpuSeconds(loader.pid) ?? 0, postgresCpuSeconds() ?? 0];
    const own0 = process.cpuUsage();
    const r = await loading.ingestMany(daySales(DAY, size, unsent));
    if (r.accepted !== stored || r.rejected !== 0) {
      throw new Error(`loading ${DAY}: ${r.accepted} accepted, ${r.rejected} rejected`);
    }
    const perRecord = (s: number) => Math.round((s * 1e6) / stored);
    const own = process.cpuUsage(own0);
    load[DAY] = {
      perSecond: Math.round(stored / ((performance.now() - began) / 1000)),
      serverCpuUsPerRecord: perRecord((cpuSeconds(loader.pid) ?? 0) - (cpu0[0] ?? 0)),
      postgresCpuUsPerRecord: perRecord((postgresCpuSeconds() ?? 0) - (cpu0[1] ?? 0)),
      gatewayCpuUsPerRecord: Math.round((own.user + own.system) / stored),
    };
    log(
      `ingested ${DAY} through the service: ${stored} transactions, ${JSON.stringify(load[DAY])}`,
    );
  } finally {
    loading.close();
    await loader.stop();
  }
  if (dayIndex) {
    // The README's optional day index (Reporting), built after the load as an operator would.
    await db.query(`create index sales_business_day_idx on sales
      (tenant_id, (coalesce(business_day, (occurred_at at time zone 'UTC')::date)), location_id)`);
  }
  if (keyIndex) {
    // A day's keys in byte order within the scope: a range of keys becomes an index range, not a
    // read of the whole day per call.
    await db.query(`create index sales_reconcile_key_idx on sales (tenant_id, location_id,
      (coalesce(business_day, (occurred_at at time zone 'UTC')::date)), idempotency_key collate "C")`);
  }
  await db.query("analyze sales");
  const [count] = await db.query<{ n: string }>(
    `select count(*)::text as n from sales where location_id = $1 and business_day = $2`,
    [BENCH_LOCATION, DAY],
  );
  if (Number(count?.n) !== stored) throw new Error(`stored ${count?.n} rows of ${DAY}`);

  // 2. The gateway's side, as it reads its day's file: all of it, and the part that was sent.
  let t = performance.now();
  const all = gatewayDay(DAY, size, new Set());
  const figuresMs = performance.now() - t;
  const sent = gatewayDay(DAY, size, unsent);
  const expectedMissing = all.keys.filter((_, i) => unsent.has(i)).sort();
  // What client.reconcile builds of the keys (sorted copy, prefix sums of the hashes), held.
  // Heap plus ArrayBuffers: the prefix sums are a BigUint64Array, outside the JS heap.
  const held = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // Twice: the first full GC can leave garbage of the day's generation behind.
  gc();
  gc();
  const heap0 = held();
  t = performance.now();
  const sorted = new SortedKeys(all.keys);
  const sortedKeysMs = performance.now() - t;
  gc();
  gc();
  const sortedKeysMiB = (held() - heap0) / 2 ** 20;
  if (sorted.size !== all.keys.length) throw new Error("duplicate keys in the bench day");
  log(`gateway: ${all.keys.length} keys, figures ${figuresMs.toFixed(0)} ms`);

  // 3. A server that has done nothing but start, so its RSS is reconciliation's alone.
  const server = await startServer({ databaseUrl: db.url, nodeArgs: [] });
  const meter = createMessageMeter();
  const baseUrl = `http://${server.target}`;
  const client = createIngestClient({
    baseUrl,
    apiKey: db.token,
    interceptors: [meter.interceptor],
  });
  const raw = rawReconcileClient(baseUrl, db.token, meter);
  const serverIdleMiB = rssMiB(server.pid) ?? 0;
  const samples: RunSample[] = [];
  try {
    type Scenario = "matching" | "missing" | "baseline";
    const runs: Record<Scenario, () => Promise<Record<string, unknown>>> = {
      async matching() {
        const a = await client.reconcile({
          locationId: BENCH_LOCATION,
          businessDay: DAY,
          figures: sent.figures,
          keys: sent.keys,
        });
        if (!a.match || a.calls !== 1) throw new Error(`matching day: ${JSON.stringify(a)}`);
        return { calls: a.calls };
      },
      async missing() {
        const a = await client.reconcile({
          locationId: BENCH_LOCATION,
          businessDay: DAY,
          figures: all.figures,
          keys: all.keys,
        });
        const found = a.keyDifferences;
        if (
          a.match ||
          !found ||
          found.extra.length > 0 ||
          JSON.stringify(found.missing) !== JSON.stringify(expectedMissing)
        ) {
          throw new Error(`missing: found ${JSON.stringify(found?.missing)}`);
        }
        const { digestCalls, listCalls, rounds: searchRounds } = found;
        return { calls: a.calls, digestCalls, listCalls, rounds: searchRounds };
      },
      async baseline() {
        const r = await listAllAndDiff(raw.client, DAY, all.keys);
        if (JSON.stringify(r.missing) !== JSON.stringify(expectedMissing) || r.extra.length) {
          throw new Error(`baseline: found ${JSON.stringify(r.missing)}`);
        }
        return { calls: r.pages, listCalls: r.pages };
      },
    };
    const names = Object.keys(runs) as Scenario[];
    // Round 0 warms up and counts bytes (encoding every message again would skew the clock).
    for (let round = 0; round <= rounds; round++) {
      meter.sizing = round === 0;
      const order = names.map((_, i) => names[(i + round) % names.length] as Scenario);
      for (const scenario of order) {
        gc();
        const before = process.memoryUsage();
        const cpu0 = [cpuSeconds(server.pid) ?? 0, postgresCpuSeconds() ?? 0];
        const rss = sampleRss(server.pid, 20);
        meter.reset();
        const began = performance.now();
        const outcome = await runs[scenario]();
        const ms = performance.now() - began;
        const after = process.memoryUsage();
        const serverRss = rss.stop();
        const cpu1 = [cpuSeconds(server.pid) ?? 0, postgresCpuSeconds() ?? 0];
        gc();
        const retained = process.memoryUsage();
        samples.push({
          scenario,
          round,
          ms,
          outcome,
          wire: meter.tallies(),
          gatewayHeapGrowthMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
          gatewayRetainedMiB: (retained.heapUsed - before.heapUsed) / 2 ** 20,
          gatewayRssGrowthMiB: (after.rss - before.rss) / 2 ** 20,
          serverCpuMs: ((cpu1[0] ?? 0) - (cpu0[0] ?? 0)) * 1000,
          postgresCpuMs: ((cpu1[1] ?? 0) - (cpu0[1] ?? 0)) * 1000,
          serverPeakRssMiB: serverRss.peakMiB,
        });
        log(`round ${round} ${scenario}: ${ms.toFixed(0)} ms ${JSON.stringify(outcome)}`);
      }
    }
    if (modelSizes.includes(stored)) {
      // The measured day itself, as a check that the model answers what the server answers.
      model.push(await modelSearch(all.keys, unsent));
      log(`model of the measured day: ${JSON.stringify(model.at(-1))}`);
    }
    const hwm = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1];
    Object.assign(results, {
      loadPerSecond: load,
      gateway: {
        keys: all.keys.length,
        figuresMs,
        sortedKeysMs,
        sortedKeysMiB,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
      },
      server: { idleRssMiB: serverIdleMiB, peakRssMiB: Number(hwm ?? 0) / 1024 },
      summary: summarise(samples),
      samples,
    });
  } finally {
    client.close();
    raw.close();
    await server.stop();
  }
} finally {
  await db.drop();
}

// 4. The same search against a server played in memory, for days too large to store here.
for (const keys of modelSizes.filter((k) => k !== stored)) {
  const day = syntheticDay(keys, missingCount);
  model.push(await modelSearch(day.all, day.absent));
  log(`model ${keys}: ${JSON.stringify(model.at(-1))}`);
}
Object.assign(results, {
  when,
  machine,
  options: { stored, otherDays, rounds, missingCount, dayIndex, keyIndex, modelSizes },
  databaseUrl: redactedUrl(databaseUrl),
  model,
});
const r = results as {
  gateway: { figuresMs: number; sortedKeysMs: number; sortedKeysMiB: number };
  server: { idleRssMiB: number; peakRssMiB: number };
  summary: ReturnType<typeof summarise>;
};
process.stdout.write(
  reconcileTable({
    stored,
    otherDays,
    dayIndex,
    keyIndex,
    missingCount,
    rounds,
    figuresMs: r.gateway.figuresMs,
    sortedKeysMs: r.gateway.sortedKeysMs,
    sortedKeysMiB: r.gateway.sortedKeysMiB,
    serverIdleMiB: r.server.idleRssMiB,
    serverPeakMiB: r.server.peakRssMiB,
    summary: r.summary,
    model,
  }),
);
log(`results: ${writeResults(when, "-reconcile", results)}`);
