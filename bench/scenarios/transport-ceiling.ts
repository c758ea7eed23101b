import { startNodeChild, stopChild } from "../child.js";
import type { BenchContext } from "../context.js";
import { type Measurement, streamMeasurement, unaryMeasurement } from "../measurement.js";
import { batchStreamLoad, callers, n, streamLoad, unaryLoad } from "./shared.js";

/**
 * The bare grpc-js server's figures, by unary concurrency and by stream length (records; for
 * batch streams, the length asked for, whatever whole messages made of it).
 */
export interface TransportCeiling {
  readonly unary: ReadonlyMap<number, Measurement>;
  readonly stream: ReadonlyMap<number, Measurement>;
  readonly batch: ReadonlyMap<number, Measurement>;
}

/**
 * Drives the bare grpc-js server (bench/bare-server.ts, its own process) with exactly the loads
 * the service gets: same tool, configs, payload, concurrency levels, channels and stream lengths.
 */
export async function measureTransportCeiling(ctx: BenchContext): Promise<TransportCeiling> {
  const { options } = ctx;
  const bare = await startNodeChild<{ port: number }>("bare-server");
  const host = `127.0.0.1:${bare.ready.port}`;
  const pids = bare.child.pid ? [bare.child.pid] : [];
  const placeholders = { apiKey: "unused" };
  const unary = new Map<number, Measurement>();
  const stream = new Map<number, Measurement>();
  const batch = new Map<number, Measurement>();
  try {
    ctx.progress(`transport ceiling: bare grpc-js server on ${host}, warm-up`);
    await ctx.load("bare warm-up", unaryLoad(host, placeholders, 75, options.warmup));
    for (const { concurrency, total } of options.unary) {
      ctx.progress(`transport ceiling: unary, ${callers(concurrency)}, ${n(total)} calls`);
      const report = await ctx.load(
        `bare unary c=${concurrency}`,
        unaryLoad(host, placeholders, concurrency, total),
        pids,
      );
      const m = unaryMeasurement(report);
      unary.set(concurrency, m);
      ctx.row({
        section: "transport ceiling",
        name: `bare unary, ${callers(concurrency)}`,
        measurement: m,
      });
    }
    for (const records of options.streams) {
      ctx.progress(`transport ceiling: one stream of ${n(records)} records`);
      const report = await ctx.load(
        `bare stream ${records}`,
        streamLoad(host, placeholders, records),
        pids,
      );
      const m = streamMeasurement(report, records);
      stream.set(records, m);
      ctx.row({
        section: "transport ceiling",
        name: `bare stream, ${n(records)} records`,
        measurement: m,
      });
    }
    for (const records of options.batch ? options.streams : []) {
      const load = batchStreamLoad(host, placeholders, records, options.recordsPerMessage);
      const what = `${n(load.records)} records, ${n(load.run.recordsPerMessage ?? 1)} per message`;
      ctx.progress(`transport ceiling: one batch stream of ${what}`);
      const report = await ctx.load(`bare stream batch ${records}`, load.run, pids);
      const m = streamMeasurement(report, load.records);
      batch.set(records, m);
      ctx.row({
        section: "transport ceiling",
        name: `bare stream, batch messages, ${what}`,
        measurement: m,
      });
    }
  } finally {
    await stopChild(bare.child);
  }
  return { unary, stream, batch };
}
