import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type GhzConfig, readConfig, withRecordsPerMessage } from "../../bench/ghz-config.js";
import { warmupOperations } from "../../bench/load-runner.js";
import type { Measurement } from "../../bench/measurement.js";
import type { MemoryVerdict } from "../../bench/scenarios/memory.js";
import { batchStreamLoad } from "../../bench/scenarios/shared.js";
import { checkTargets, renderTargets, type TargetInputs } from "../../bench/targets.js";

function measured(rate: number, serverCpuUs?: number, p99Ms?: number): Measurement {
  return {
    rate,
    unit: "records/s",
    p50Ms: undefined,
    p95Ms: undefined,
    p99Ms,
    errors: 0,
    seconds: 1,
    ...(serverCpuUs === undefined ? {} : { serverCpuUs }),
  };
}

function memory(kind: MemoryVerdict["kind"], peaks: number[], grows: boolean): MemoryVerdict {
  return {
    kind,
    records: 1_000_000,
    runs: peaks.map((peakMiB, i) => ({ run: i + 1, beforeMiB: 90, peakMiB, afterMiB: peakMiB })),
    grows,
    maxPeakMiB: Math.max(...peaks),
    verdict: "",
  };
}

function inputs(overrides: Partial<TargetInputs> = {}): TargetInputs {
  return {
    bestRawBatchRate: 100_000,
    bareUnary: new Map([[75, measured(2_000, 200, 40)]]),
    service: {
      unary: new Map([[75, measured(1_900, 300, 50)]]),
      // The short stream meets both targets and the long one misses them: the long one counts.
      stream: new Map([
        [100_000, measured(40_000, 20)],
        [1_000, measured(90_000, 10)],
      ]),
      batch: new Map([[100_000, measured(85_000, 11)]]),
    },
    memory: [memory("per-record", [220, 221, 219], false), memory("batch", [250, 300, 330], true)],
    memoryRecords: 1_000_000,
    ...overrides,
  };
}

const met = (checks: ReturnType<typeof checkTargets>) =>
  Object.fromEntries(checks.map((c) => [c.target, c.met]));

describe("checkTargets", () => {
  it("checks each of issue 15's targets against the longest stream and the bare server", () => {
    expect(met(checkTargets(inputs()))).toEqual({
      "stream, per-record messages ≥ 0.5× raw storage ceiling": false,
      "server CPU per streamed record, per-record messages ≤ 18 µs": false,
      "stream, batch messages ≥ 0.8× raw storage ceiling": true,
      "server CPU per streamed record, batch messages ≤ 12 µs": true,
      "unary at 75 callers ≥ 0.9× bare server throughput": true,
      "unary at 75 callers p99 ≤ 1.5× bare server p99": true,
      "memory, 1,000,000-record stream, per-record messages: peak RSS < 300 MB": true,
      "memory, 1,000,000-record stream, per-record messages: flat over repeated runs": true,
      "memory, 1,000,000-record stream, batch messages: peak RSS < 300 MB": false,
      "memory, 1,000,000-record stream, batch messages: flat over repeated runs": false,
    });
    const [perRecord] = checkTargets(inputs());
    expect(perRecord?.value).toBeCloseTo(0.4);
    expect(perRecord?.measured).toContain("100,000-record stream");
  });

  it("holds each bound at its edge: ≥ and ≤ are met, < 300 MB is not at 300 MB", () => {
    const checks = checkTargets(
      inputs({
        bareUnary: new Map([[75, measured(1_000, 200, 10)]]),
        service: {
          unary: new Map([[75, measured(900, 300, 15)]]),
          stream: new Map([[20_000, measured(50_000, 18)]]),
          batch: new Map([[20_000, measured(80_000, 12)]]),
        },
        memory: [memory("per-record", [300e6 / 2 ** 20], false)],
      }),
    );
    expect(checks.slice(0, 6).map((c) => c.met)).toEqual([true, true, true, true, true, true]);
    expect(checks[6]?.met).toBe(false);
  });

  it("reports what the run did not measure as not measured, never as met", () => {
    const checks = checkTargets(
      inputs({
        bareUnary: new Map(),
        service: {
          unary: new Map(),
          stream: new Map([[20_000, measured(50_000)]]),
          batch: new Map(),
        },
        memory: [memory("per-record", [200, 200, 200], false)],
      }),
    );
    const unmeasured = checks.filter((c) => c.met === undefined).map((c) => c.measured);
    expect(unmeasured).toEqual([
      "not measured (no server CPU figure)",
      "not measured (no such stream in this run)",
      "not measured (no such stream in this run)",
      "not measured (no unary run at 75 callers)",
      "not measured (no unary run at 75 callers)",
      "not measured (not run with batch messages)",
      "not measured (not run with batch messages)",
    ]);
    const table = renderTargets(checks);
    expect(table.split("\n")).toHaveLength(2 + checks.length);
    expect(table).toContain("| ✓ | stream, per-record messages ≥ 0.5× raw storage ceiling");
    expect(table).toContain("| – | server CPU per streamed record, per-record messages ≤ 18 µs");
  });
});

describe("batch loads", () => {
  it("repeats the shipped batch config's one record to the records per message", () => {
    // shippedConfigPath resolves from dist/bench/; from here the file is two folders up.
    const path = fileURLToPath(new URL("../../bench/ghz/stream-batch.json", import.meta.url));
    const shipped = readConfig(path, { apiKey: "k" });
    const config: GhzConfig = withRecordsPerMessage(shipped, 3);
    const records = (config.data as { records: unknown[] }).records;
    expect(records).toHaveLength(3);
    expect(records[2]).toEqual((shipped.data as { records: unknown[] }).records[0]);
    expect(config.call).toBe("pos.ingest.v1.IngestService.IngestBatchStream");
    expect(() => withRecordsPerMessage(config, 2)).toThrow(/exactly one record/);
    expect(() => withRecordsPerMessage(shipped, 0)).toThrow(/positive integer/);
  });

  it("counts a batch stream's records as messages × records per message", () => {
    const load = batchStreamLoad("h", {}, 100_000, 500);
    expect(load.run.streamCallCount).toBe(200);
    expect(load.records).toBe(100_000);
    // Rounded up to whole messages; a stream shorter than one message is one smaller message.
    expect(batchStreamLoad("h", {}, 1_200, 500).records).toBe(1_500);
    const short = batchStreamLoad("h", {}, 300, 500);
    expect([short.run.streamCallCount, short.run.recordsPerMessage, short.records]).toEqual([
      1, 300, 300,
    ]);
    // The built-in generator's warm-up, in records: a quarter of the stream, at most 10,000.
    expect(warmupOperations("built-in", load.run)).toBe(10_000);
    expect(warmupOperations("built-in", batchStreamLoad("h", {}, 20_000, 500).run)).toBe(5_000);
    expect(warmupOperations("ghz", load.run)).toBe(0);
  });
});
