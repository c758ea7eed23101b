import { runNodeForJson } from "../child.js";
import type { BenchContext } from "../context.js";
import { createFreshDatabase } from "../fresh-database.js";
import type { Measurement } from "../measurement.js";

interface SingleFigure {
  readonly concurrency: number;
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}
interface BatchFigure {
  readonly form: string;
  readonly connections: number;
  readonly batchSize: number;
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/** Raw Postgres figures: single-row autocommit by concurrency, and the best batch form. */
export interface StorageCeiling {
  /** Single-row autocommit rows/s at the measured concurrency nearest to (at most) `c`. */
  singleRowAt(concurrency: number): Measurement | undefined;
  readonly bestBatch: Measurement & { readonly form: string; readonly connections: number };
}

function rows(rate: number, seconds: number): Measurement {
  return {
    rate,
    unit: "rows/s",
    p50Ms: undefined,
    p95Ms: undefined,
    p99Ms: undefined,
    errors: 0,
    seconds,
  };
}

/**
 * Measures raw inserts (bench/pg-baseline.ts, its own process) into a fresh database migrated
 * with the service's own migrations: the same table, primary key and conflict rule.
 */
export async function measureStorageCeiling(ctx: BenchContext): Promise<StorageCeiling> {
  const { storage } = ctx.options;
  const db = await createFreshDatabase(ctx.options.databaseUrl);
  let result: { single: SingleFigure[]; batches: BatchFigure[] };
  try {
    ctx.progress(
      `storage ceiling: raw INSERTs into ${db.name} (single-row at ` +
        `${storage.single.map(([c]) => c).join("/")} connections; batches of ${storage.batchSize})`,
    );
    result = await runNodeForJson("pg-baseline", [
      "--url",
      db.url,
      "--config",
      "stream",
      "--single",
      storage.single.map(([c, n]) => `${c}:${n}`).join(","),
      "--batch-rows",
      String(storage.batchRows),
      "--batch-size",
      String(storage.batchSize),
      "--batch-connections",
      storage.batchConnections.join(","),
    ]);
  } finally {
    await db.drop();
  }
  ctx.detail("storage ceiling", result);
  for (const s of result.single) {
    ctx.row({
      section: "storage ceiling",
      name: `single-row INSERT … ON CONFLICT, ${s.concurrency} conn`,
      measurement: rows(s.rowsPerSecond, s.seconds),
    });
  }
  for (const b of result.batches) {
    ctx.row({
      section: "storage ceiling",
      name: `${b.form}, ${b.batchSize}/stmt, ${b.connections} conn`,
      measurement: rows(b.rowsPerSecond, b.seconds),
    });
  }
  const best = [...result.batches].sort((a, b) => b.rowsPerSecond - a.rowsPerSecond)[0];
  if (!best) throw new Error("no batch figures");
  return {
    singleRowAt(concurrency) {
      const candidates = result.single
        .filter((s) => s.concurrency <= concurrency)
        .sort((a, b) => b.concurrency - a.concurrency);
      const s = candidates[0];
      return s ? rows(s.rowsPerSecond, s.seconds) : undefined;
    },
    bestBatch: {
      ...rows(best.rowsPerSecond, best.seconds),
      form: best.form,
      connections: best.connections,
    },
  };
}
