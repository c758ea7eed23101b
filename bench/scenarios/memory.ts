import type { BenchContext } from "../context.js";
import { streamMeasurement } from "../measurement.js";
import { rssMiB, sampleRss } from "../process-stats.js";
import type { ServiceTarget } from "./service-throughput.js";
import { batchStreamLoad, n, newRunId, ratio, streamLoad } from "./shared.js";
import type { StorageCeiling } from "./storage-ceiling.js";

/** The bound on the server's resident memory (300 MB) during a long stream, in MiB. */
export const RSS_LIMIT_MIB = 300e6 / 2 ** 20;

/** How a memory run's stream carries its records. */
export type MessageKind = "per-record" | "batch";

/** One kind's memory runs and their verdict. */
export interface MemoryVerdict {
  readonly kind: MessageKind;
  readonly records: number;
  readonly runs: readonly {
    readonly run: number;
    readonly beforeMiB: number;
    readonly peakMiB: number;
    readonly afterMiB: number;
  }[];
  readonly grows: boolean;
  readonly maxPeakMiB: number;
  readonly verdict: string;
}

/**
 * Streams `records` records `repeats` times through the same server process, sampling its RSS
 * (/proc/<pid>/status VmRSS) every 200 ms, and reports each run's peak and whether the peaks grow
 * from run to run (more than 10% or 20 MiB from the first to the last is called growth). Done
 * with one record per message, then (unless `--skip batch`) with batch messages, whose larger
 * messages and decoded lists are what could hold more in memory.
 */
export async function memoryUnderLongStreams(
  ctx: BenchContext,
  target: ServiceTarget,
  storage: StorageCeiling,
): Promise<MemoryVerdict[]> {
  const memory = ctx.options.memory;
  if (!memory) return [];
  const kinds: MessageKind[] = ctx.options.batch ? ["per-record", "batch"] : ["per-record"];
  const verdicts: MemoryVerdict[] = [];
  for (const kind of kinds) {
    const verdict = await memoryRuns(ctx, target, storage, memory, kind);
    // "memory" keeps the shape earlier results files have; batch runs get an entry of their own.
    ctx.detail(kind === "batch" ? "memory, batch messages" : "memory", verdict);
    verdicts.push(verdict);
  }
  return verdicts;
}

async function memoryRuns(
  ctx: BenchContext,
  target: ServiceTarget,
  storage: StorageCeiling,
  memory: { readonly records: number; readonly repeats: number },
  kind: MessageKind,
): Promise<MemoryVerdict> {
  const placeholders = { apiKey: target.token, runId: newRunId() };
  const load =
    kind === "batch"
      ? batchStreamLoad(target.host, placeholders, memory.records, ctx.options.recordsPerMessage)
      : { run: streamLoad(target.host, placeholders, memory.records), records: memory.records };
  const label = kind === "batch" ? "stream, batch messages" : "stream";
  const runs: { run: number; beforeMiB: number; peakMiB: number; afterMiB: number }[] = [];
  for (let run = 1; run <= memory.repeats; run++) {
    ctx.progress(
      `service: memory, ${label} of ${n(load.records)} records, run ${run}/${memory.repeats}`,
    );
    const beforeMiB = rssMiB(target.pid) ?? 0;
    const sampler = sampleRss(target.pid);
    const report = await ctx.load(
      `memory ${kind === "batch" ? "batch " : ""}stream run ${run}`,
      load.run,
      [target.pid],
    );
    const samples = sampler.stop();
    const m = streamMeasurement(report, load.records);
    runs.push({ run, beforeMiB, peakMiB: samples.peakMiB, afterMiB: samples.lastMiB });
    ctx.row({
      section: "service",
      name: `${label}, ${n(load.records)} records (memory run ${run})`,
      measurement: m,
      vsStorage: ratio(m.rate, storage.bestBatch.rate),
      note: `RSS peak ${samples.peakMiB.toFixed(0)} MiB (before ${beforeMiB.toFixed(0)})`,
    });
  }
  const first = runs[0]?.peakMiB ?? 0;
  const last = runs.at(-1)?.peakMiB ?? 0;
  const grows = last - first > Math.max(20, first * 0.1);
  const maxPeak = Math.max(...runs.map((r) => r.peakMiB));
  const verdict =
    `peak RSS ${runs.map((r) => r.peakMiB.toFixed(0)).join(" / ")} MiB over ${runs.length} runs: ` +
    `${grows ? "GROWS" : "does not grow"}; ` +
    `${maxPeak < RSS_LIMIT_MIB ? "under" : "OVER"} 300 MB`;
  ctx.row({
    section: "service",
    name: kind === "batch" ? "memory verdict, batch messages" : "memory verdict",
    note: verdict,
  });
  return { kind, records: load.records, runs, grows, maxPeakMiB: maxPeak, verdict };
}
