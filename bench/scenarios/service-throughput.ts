import type { BenchContext } from "../context.js";
import { type Measurement, streamMeasurement, unaryMeasurement } from "../measurement.js";
import { batchStreamLoad, callers, n, newRunId, ratio, streamLoad, unaryLoad } from "./shared.js";
import type { StorageCeiling } from "./storage-ceiling.js";
import type { TransportCeiling } from "./transport-ceiling.js";

/** A running service to measure: its gRPC address, process id and a token for tenant `bench`. */
export interface ServiceTarget {
  readonly host: string;
  readonly token: string;
  readonly pid: number;
}

/**
 * The service's v1-sale figures, for the targets: unary by concurrency, streams by the length
 * asked for (per-record messages, and batch messages).
 */
export interface ServiceFigures {
  readonly unary: ReadonlyMap<number, Measurement>;
  readonly stream: ReadonlyMap<number, Measurement>;
  readonly batch: ReadonlyMap<number, Measurement>;
}

/**
 * Unary calls at each concurrency level (unique keys) and single streams of each length, one
 * record per message and batch messages, each figure set against the bare server's for the same
 * load and against raw Postgres.
 */
export async function measureServiceThroughput(
  ctx: BenchContext,
  target: ServiceTarget,
  transport: TransportCeiling,
  storage: StorageCeiling,
): Promise<ServiceFigures> {
  const figures = {
    unary: new Map<number, Measurement>(),
    stream: new Map<number, Measurement>(),
    batch: new Map<number, Measurement>(),
  };
  const { options } = ctx;
  const placeholders = { apiKey: target.token, runId: newRunId() };
  ctx.progress(`service: warm-up, ${options.warmup} calls`);
  await ctx.load("service warm-up", unaryLoad(target.host, placeholders, 75, options.warmup));
  for (const { concurrency, total } of options.unary) {
    ctx.progress(`service: unary, ${callers(concurrency)}, ${n(total)} calls`);
    const report = await ctx.load(
      `service unary c=${concurrency}`,
      unaryLoad(target.host, placeholders, concurrency, total),
      [target.pid],
    );
    const m = unaryMeasurement(report);
    figures.unary.set(concurrency, m);
    const bare = transport.unary.get(concurrency);
    ctx.row({
      section: "service",
      name: `unary, ${callers(concurrency)}`,
      measurement: m,
      vsTransport: ratio(m.rate, bare?.rate),
      p99VsTransport: ratio(m.p99Ms, bare?.p99Ms),
      vsStorage: ratio(m.rate, storage.singleRowAt(concurrency)?.rate),
    });
  }
  // The same loads with a sale of the v2 model (the README's VAT receipt: four lines, included
  // taxes, a voided line, card brand and last four) at the busiest level and the first stream.
  const v2Levels = options.v2 ? options.unary.filter((u) => u.concurrency === 75).slice(0, 1) : [];
  for (const { concurrency, total } of v2Levels) {
    ctx.progress(`service: unary v2 VAT receipt, ${callers(concurrency)}, ${n(total)} calls`);
    const report = await ctx.load(
      `service unary v2 c=${concurrency}`,
      unaryLoad(target.host, placeholders, concurrency, total, "unary-v2"),
      [target.pid],
    );
    const m = unaryMeasurement(report);
    ctx.row({
      section: "service",
      name: `unary v2 VAT receipt, ${callers(concurrency)}`,
      measurement: m,
      vsTransport: ratio(m.rate, transport.unary.get(concurrency)?.rate),
      vsStorage: ratio(m.rate, storage.singleRowAt(concurrency)?.rate),
    });
  }
  const streamRuns = [
    ...options.streams.map((records) => ({ records, config: "stream" as const, label: "" })),
    ...options.streams.slice(0, options.v2 ? 1 : 0).map((records) => ({
      records,
      config: "stream-v2" as const,
      label: " v2 VAT receipts",
    })),
  ];
  for (const { records, config, label } of streamRuns) {
    ctx.progress(`service: one stream of ${n(records)} records${label}`);
    const report = await ctx.load(
      `service stream${label} ${records}`,
      streamLoad(target.host, placeholders, records, config),
      [target.pid],
    );
    const m = streamMeasurement(report, records);
    if (config === "stream") figures.stream.set(records, m);
    const accepted = report.outcomes?.accepted;
    ctx.row({
      section: "service",
      name: `stream${label}, ${n(records)} records`,
      measurement: m,
      vsTransport: ratio(m.rate, transport.stream.get(records)?.rate),
      vsStorage: ratio(m.rate, storage.bestBatch.rate),
      note:
        accepted === undefined || accepted === records
          ? undefined
          : `only ${accepted} of ${records} accepted`,
    });
  }
  const batchRuns = options.batch
    ? [
        ...options.streams.map((records) => ({
          records,
          config: "stream-batch" as const,
          label: "",
        })),
        ...options.streams.slice(0, options.v2 ? 1 : 0).map((records) => ({
          records,
          config: "stream-batch-v2" as const,
          label: " v2 VAT receipts",
        })),
      ]
    : [];
  for (const { records, config, label } of batchRuns) {
    const load = batchStreamLoad(
      target.host,
      placeholders,
      records,
      options.recordsPerMessage,
      config,
    );
    const what = `${n(load.records)} records, ${n(load.run.recordsPerMessage ?? 1)} per message`;
    ctx.progress(`service: one batch stream${label} of ${what}`);
    const report = await ctx.load(`service stream batch${label} ${records}`, load.run, [
      target.pid,
    ]);
    const m = streamMeasurement(report, load.records);
    if (config === "stream-batch") figures.batch.set(records, m);
    const accepted = report.outcomes?.accepted;
    ctx.row({
      section: "service",
      name: `stream, batch messages${label}, ${what}`,
      measurement: m,
      vsTransport: ratio(m.rate, transport.batch.get(records)?.rate),
      vsStorage: ratio(m.rate, storage.bestBatch.rate),
      note:
        accepted === undefined || accepted === load.records
          ? undefined
          : `only ${accepted} of ${load.records} accepted`,
    });
  }
  return figures;
}
