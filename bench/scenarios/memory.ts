import type { BenchContext } from "../context.js";
import { streamMeasurement } from "../measurement.js";
import { rssMiB, sampleRss } from "../process-stats.js";
import type { ServiceTarget } from "./service-throughput.js";
import { n, newRunId, ratio } from "./shared.js";
import type { StorageCeiling } from "./storage-ceiling.js";

/** The bound on the server's resident memory (300 MB) during a long stream, in MiB. */
const RSS_LIMIT_MIB = 300e6 / 2 ** 20;

/**
 * Streams `records` records `repeats` times through the same server process, sampling its RSS
 * (/proc/<pid>/status VmRSS) every 200 ms, and reports each run's peak and whether the peaks grow
 * from run to run (more than 10% or 20 MiB from the first to the last is called growth).
 */
export async function memoryUnderLongStreams(
  ctx: BenchContext,
  target: ServiceTarget,
  storage: StorageCeiling,
): Promise<void> {
  const memory = ctx.options.memory;
  if (!memory) return;
  const runs: { run: number; beforeMiB: number; peakMiB: number; afterMiB: number }[] = [];
  for (let run = 1; run <= memory.repeats; run++) {
    ctx.progress(
      `service: memory, stream of ${n(memory.records)} records, run ${run}/${memory.repeats}`,
    );
    const beforeMiB = rssMiB(target.pid) ?? 0;
    const sampler = sampleRss(target.pid);
    const report = await ctx.load(
      `memory stream run ${run}`,
      {
        config: "stream",
        placeholders: { apiKey: target.token, runId: newRunId() },
        host: target.host,
        concurrency: 1,
        total: 1,
        connections: 1,
        streamCallCount: memory.records,
      },
      [target.pid],
    );
    const samples = sampler.stop();
    const m = streamMeasurement(report, memory.records);
    runs.push({ run, beforeMiB, peakMiB: samples.peakMiB, afterMiB: samples.lastMiB });
    ctx.row({
      section: "service",
      name: `stream, ${n(memory.records)} records (memory run ${run})`,
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
  ctx.detail("memory", { runs, grows, maxPeakMiB: maxPeak, verdict });
  ctx.row({ section: "service", name: "memory verdict", note: verdict });
}
