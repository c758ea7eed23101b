import { startNodeChild, stopChild } from "../child.js";
import type { BenchContext } from "../context.js";
import { type Measurement, streamMeasurement, unaryMeasurement } from "../measurement.js";
import { callers, connectionsFor, n } from "./shared.js";

/** The bare grpc-js server's figures, by unary concurrency and by stream length. */
export interface TransportCeiling {
  readonly unary: ReadonlyMap<number, Measurement>;
  readonly stream: ReadonlyMap<number, Measurement>;
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
  try {
    ctx.progress(`transport ceiling: bare grpc-js server on ${host}, warm-up`);
    await ctx.load("bare warm-up", {
      config: "unary",
      placeholders,
      host,
      concurrency: 75,
      total: options.warmup,
      connections: connectionsFor(75),
    });
    for (const { concurrency, total } of options.unary) {
      ctx.progress(`transport ceiling: unary, ${callers(concurrency)}, ${n(total)} calls`);
      const report = await ctx.load(
        `bare unary c=${concurrency}`,
        {
          config: "unary",
          placeholders,
          host,
          concurrency,
          total,
          connections: connectionsFor(concurrency),
        },
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
        {
          config: "stream",
          placeholders,
          host,
          concurrency: 1,
          total: 1,
          connections: 1,
          streamCallCount: records,
        },
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
  } finally {
    await stopChild(bare.child);
  }
  return { unary, stream };
}
