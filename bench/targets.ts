import type { Measurement } from "./measurement.js";
import { type MemoryVerdict, type MessageKind, RSS_LIMIT_MIB } from "./scenarios/memory.js";

/** What issue 15's targets are checked against: figures of one run. */
export interface TargetInputs {
  /** The storage ceiling: the best raw batch form's rows/s. */
  readonly bestRawBatchRate: number | undefined;
  /** Bare grpc-js server, unary, by concurrency. */
  readonly bareUnary: ReadonlyMap<number, Measurement>;
  /** The service: unary by concurrency; streams by length, per-record and batch messages. */
  readonly service: {
    readonly unary: ReadonlyMap<number, Measurement>;
    readonly stream: ReadonlyMap<number, Measurement>;
    readonly batch: ReadonlyMap<number, Measurement>;
  };
  /** One verdict per kind of memory run made. */
  readonly memory: readonly MemoryVerdict[];
  /** Records of the memory part's streams, for the label when it did not run. */
  readonly memoryRecords: number;
}

/** One target: what it asks, what this run measured, and whether that meets it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** The figure compared with `limit` (a ratio, µs, MiB); absent when not measured. */
  readonly value?: number;
  readonly limit: number;
  /** Undefined when the run did not measure it (a part skipped, no /proc). */
  readonly met: boolean | undefined;
}

/** The unary level issue 15 names. */
const UNARY_CALLERS = 75;

const count = (value: number) => value.toLocaleString("en");
const rate = (value: number) => Math.round(value).toLocaleString("en");

function notMeasured(target: string, limit: number, why: string): TargetCheck {
  return { target, measured: `not measured (${why})`, limit, met: undefined };
}

/** The longest stream measured: issue 15's stream targets are about long streams. */
function longest(figures: ReadonlyMap<number, Measurement>) {
  const records = Math.max(...figures.keys());
  const measurement = figures.get(records);
  return measurement ? { records, measurement } : undefined;
}

function streamTargets(
  label: string,
  figures: ReadonlyMap<number, Measurement>,
  ceiling: number | undefined,
  minRatio: number,
  maxCpuUs: number,
): TargetCheck[] {
  const ratioTarget = `stream, ${label} ≥ ${minRatio}× raw storage ceiling`;
  const cpuTarget = `server CPU per streamed record, ${label} ≤ ${maxCpuUs} µs`;
  const run = longest(figures);
  if (!run) {
    return [
      notMeasured(ratioTarget, minRatio, "no such stream in this run"),
      notMeasured(cpuTarget, maxCpuUs, "no such stream in this run"),
    ];
  }
  const { records, measurement: m } = run;
  const of = `${count(records)}-record stream`;
  const ratio = ceiling !== undefined && ceiling > 0 ? m.rate / ceiling : undefined;
  const checks: TargetCheck[] = [
    ratio === undefined
      ? notMeasured(ratioTarget, minRatio, "no storage ceiling")
      : {
          target: ratioTarget,
          measured: `${ratio.toFixed(2)}× (${of}: ${rate(m.rate)} records/s ÷ ${rate(ceiling ?? 0)} rows/s)`,
          value: ratio,
          limit: minRatio,
          met: ratio >= minRatio,
        },
    m.serverCpuUs === undefined
      ? notMeasured(cpuTarget, maxCpuUs, "no server CPU figure")
      : {
          target: cpuTarget,
          measured: `${m.serverCpuUs.toFixed(1)} µs (${of})`,
          value: m.serverCpuUs,
          limit: maxCpuUs,
          met: m.serverCpuUs <= maxCpuUs,
        },
  ];
  return checks;
}

function unaryTargets(inputs: TargetInputs): TargetCheck[] {
  const rateTarget = `unary at ${UNARY_CALLERS} callers ≥ 0.9× bare server throughput`;
  const p99Target = `unary at ${UNARY_CALLERS} callers p99 ≤ 1.5× bare server p99`;
  const service = inputs.service.unary.get(UNARY_CALLERS);
  const bare = inputs.bareUnary.get(UNARY_CALLERS);
  if (!service || !bare) {
    const why = `no unary run at ${UNARY_CALLERS} callers`;
    return [notMeasured(rateTarget, 0.9, why), notMeasured(p99Target, 1.5, why)];
  }
  const rateRatio = bare.rate > 0 ? service.rate / bare.rate : undefined;
  const p99Ratio =
    service.p99Ms !== undefined && bare.p99Ms !== undefined && bare.p99Ms > 0
      ? service.p99Ms / bare.p99Ms
      : undefined;
  return [
    rateRatio === undefined
      ? notMeasured(rateTarget, 0.9, "bare server made no calls")
      : {
          target: rateTarget,
          measured: `${rateRatio.toFixed(2)}× (${rate(service.rate)} ÷ ${rate(bare.rate)} calls/s)`,
          value: rateRatio,
          limit: 0.9,
          met: rateRatio >= 0.9,
        },
    p99Ratio === undefined
      ? notMeasured(p99Target, 1.5, "no p99")
      : {
          target: p99Target,
          measured: `${p99Ratio.toFixed(2)}× (${service.p99Ms?.toFixed(1)} ÷ ${bare.p99Ms?.toFixed(1)} ms)`,
          value: p99Ratio,
          limit: 1.5,
          met: p99Ratio <= 1.5,
        },
  ];
}

function memoryTargets(inputs: TargetInputs, kind: MessageKind): TargetCheck[] {
  const label = kind === "batch" ? "batch messages" : "per-record messages";
  const verdict = inputs.memory.find((v) => v.kind === kind);
  const records = count(verdict?.records ?? inputs.memoryRecords);
  const peakTarget = `memory, ${records}-record stream, ${label}: peak RSS < 300 MB`;
  const flatTarget = `memory, ${records}-record stream, ${label}: flat over repeated runs`;
  if (!verdict) {
    const why = inputs.memory.length > 0 ? `not run with ${label}` : "memory part not run";
    return [notMeasured(peakTarget, RSS_LIMIT_MIB, why), notMeasured(flatTarget, 0, why)];
  }
  const peaks = verdict.runs.map((r) => r.peakMiB.toFixed(0)).join(" / ");
  const growth = (verdict.runs.at(-1)?.peakMiB ?? 0) - (verdict.runs[0]?.peakMiB ?? 0);
  return [
    {
      target: peakTarget,
      measured: `${verdict.maxPeakMiB.toFixed(0)} MiB (${((verdict.maxPeakMiB * 2 ** 20) / 1e6).toFixed(0)} MB)`,
      value: verdict.maxPeakMiB,
      limit: RSS_LIMIT_MIB,
      met: verdict.maxPeakMiB < RSS_LIMIT_MIB,
    },
    {
      // The memory part's own rule: growth is more than 10% or 20 MiB from first to last peak.
      target: flatTarget,
      measured: `peaks ${peaks} MiB over ${verdict.runs.length} runs: ${verdict.grows ? "grows" : "does not grow"}`,
      value: growth,
      limit: 0,
      met: !verdict.grows,
    },
  ];
}

/**
 * Checks issue 15's targets against one run's figures: the longest stream, per-record and batch
 * messages, against the storage ceiling (the best raw batch form) and in server CPU per record;
 * unary at 75 callers against the bare server; the memory part's peak and growth. A target the
 * run did not measure is reported as such, never as met.
 */
export function checkTargets(inputs: TargetInputs): TargetCheck[] {
  return [
    ...streamTargets(
      "per-record messages",
      inputs.service.stream,
      inputs.bestRawBatchRate,
      0.5,
      18,
    ),
    ...streamTargets("batch messages", inputs.service.batch, inputs.bestRawBatchRate, 0.8, 12),
    ...unaryTargets(inputs),
    ...memoryTargets(inputs, "per-record"),
    ...memoryTargets(inputs, "batch"),
  ];
}

/** The checks as a Markdown table, ✓ met, ✗ missed, – not measured. */
export function renderTargets(checks: readonly TargetCheck[]): string {
  const rows = checks.map((c) => [
    c.met === undefined ? "–" : c.met ? "✓" : "✗",
    c.target,
    c.measured,
  ]);
  const header = ["", "issue 15 target", "measured in this run"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
