import type { BenchContext } from "../context.js";
import type { FreshDatabase } from "../fresh-database.js";
import { unaryMeasurement } from "../measurement.js";
import type { GhzReport } from "../report.js";
import type { ServiceTarget } from "./service-throughput.js";
import { callers, connectionsFor, n, newRunId, ratio } from "./shared.js";

/** Rows stored under a dedup run's keys, and how many distinct keys they cover. */
export async function storedKeys(db: FreshDatabase, runId: string) {
  const [row] = await db.query<{ rows: number; keys: number }>(
    "select count(*)::int as rows, count(distinct idempotency_key)::int as keys " +
      "from sales where idempotency_key like $1",
    [`dedup-${runId}-%`],
  );
  return row ?? { rows: 0, keys: 0 };
}

/**
 * The verdict for a run of `total` calls over `keys` keys: exactly one row per key in the
 * database, no errors, and — when the tool reports outcomes — exactly one ACCEPTED per key.
 */
export function exactlyOnce(
  report: GhzReport,
  stored: { rows: number; keys: number },
  keys: number,
  total: number,
) {
  const errors = report.count - (report.statusCodeDistribution.OK ?? 0);
  const o = report.outcomes;
  const outcomesOk = !o || (o.accepted === keys && o.duplicate === total - keys);
  const ok = stored.rows === keys && stored.keys === keys && errors === 0 && outcomesOk;
  const answered = o ? `, ${n(o.accepted)} accepted, ${n(o.duplicate)} duplicate` : "";
  return {
    ok,
    text: `${ok ? "exactly once" : "FAILED"}: ${n(stored.rows)} rows for ${n(keys)} keys${answered}, ${errors} errors`,
  };
}

/**
 * The seed's correctness load test: `total` calls over `keys` keys from concurrent callers; each
 * key must end up stored once, every other call answered DUPLICATE, nothing failed.
 */
export async function correctnessLoadTest(
  ctx: BenchContext,
  target: ServiceTarget,
  db: FreshDatabase,
): Promise<void> {
  const { total, keys, concurrency } = ctx.options.correctness;
  const runId = newRunId();
  ctx.progress(
    `service: correctness, ${n(total)} calls over ${n(keys)} keys, ${callers(concurrency)}`,
  );
  const report = await ctx.load(
    "correctness",
    {
      config: "unary-dedup",
      placeholders: { apiKey: target.token, runId, distinctKeys: keys },
      host: target.host,
      concurrency,
      total,
      connections: connectionsFor(concurrency),
    },
    [target.pid],
  );
  const verdict = exactlyOnce(report, await storedKeys(db, runId), keys, total);
  ctx.detail("correctness", verdict);
  ctx.row({
    section: "service",
    name: `correctness: ${n(total)} calls over ${n(keys)} keys, ${callers(concurrency)}`,
    measurement: unaryMeasurement(report),
    note: verdict.text,
  });
}

/**
 * Dedup cost: `total` calls with new keys, then the very same keys again (100% duplicates),
 * same callers and payload. A duplicate costs a conflict check and a read instead of a write.
 */
export async function duplicatesVersusNew(
  ctx: BenchContext,
  target: ServiceTarget,
  db: FreshDatabase,
): Promise<void> {
  const total = ctx.options.dedupTotal;
  const runId = newRunId();
  const run = {
    config: "unary-dedup" as const,
    placeholders: { apiKey: target.token, runId, distinctKeys: total },
    host: target.host,
    concurrency: 75,
    total,
    connections: connectionsFor(75),
  };
  ctx.progress(`service: ${n(total)} calls with new keys, then the same ${n(total)} keys again`);
  const fresh = await ctx.load("dedup all-new", run, [target.pid]);
  const again = await ctx.load("dedup all-duplicate", run, [target.pid]);
  const stored = await storedKeys(db, runId);
  const freshM = unaryMeasurement(fresh);
  const againM = unaryMeasurement(again);
  ctx.row({
    section: "service",
    name: "unary, 100% new keys, 75 callers",
    measurement: freshM,
    note: exactlyOnce(fresh, stored, total, total).text,
  });
  const speed = ratio(againM.rate, freshM.rate);
  ctx.row({
    section: "service",
    name: "unary, 100% duplicate keys, 75 callers",
    measurement: againM,
    note:
      `${speed?.toFixed(2)}× the all-new rate; ` +
      (again.outcomes ? `${n(again.outcomes.duplicate)} duplicate, ` : "") +
      `${n(stored.rows)} rows`,
  });
}
