/** One point of ghz's latency distribution; `latency` in nanoseconds. */
export interface LatencyPoint {
  readonly percentage: number;
  readonly latency: number;
}

/** One bucket of ghz's histogram; `mark` in seconds. */
export interface HistogramBucket {
  readonly mark: number;
  readonly count: number;
  readonly frequency: number;
}

/** What the ingest service answered, counted by the built-in generator (not part of ghz's report). */
export interface Outcomes {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/**
 * A load report in ghz's JSON format (`ghz -O json`): durations are nanoseconds, `rps` is calls
 * per second over `total`, and the latency figures cover successful calls only, as in ghz. The
 * bench adds what ghz has no field for: `outcomes`, and the CPU used by the client, the server
 * process(es) and the local PostgreSQL during the measured calls.
 */
export interface GhzReport {
  readonly name?: string;
  readonly endReason: "normal" | "timeout" | "cancel";
  readonly date: string;
  readonly options: Record<string, unknown>;
  readonly count: number;
  readonly total: number;
  readonly average: number;
  readonly fastest: number;
  readonly slowest: number;
  readonly rps: number;
  readonly errorDistribution: Record<string, number>;
  readonly statusCodeDistribution: Record<string, number>;
  readonly latencyDistribution: LatencyPoint[] | null;
  readonly histogram: HistogramBucket[] | null;
  readonly outcomes?: Outcomes;
  /** CPU seconds the built-in generator's process used for the measured calls (not ghz's). */
  readonly clientCpuSeconds?: number;
  /** CPU seconds the watched server process(es) used during the measured calls. */
  readonly serverCpuSeconds?: number;
  /** CPU seconds the local PostgreSQL server used during the measured calls. */
  readonly postgresCpuSeconds?: number;
}

/** gRPC status names as Go's `codes.Code.String()` spells them, which is what ghz reports. */
export const STATUS_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
] as const;

const PERCENTILES = [10, 25, 50, 75, 90, 95, 99];

/** Collects call results and turns them into a ghz-compatible report. */
export class ReportBuilder {
  private latencies = new Float64Array(1024);
  private okCount = 0;
  private count = 0;
  private latencySumMs = 0;
  private readonly statusCodes: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};
  readonly outcomes: Outcomes = { accepted: 0, duplicate: 0, rejected: 0 };

  /** Records one call: its latency in milliseconds and its gRPC status code. */
  record(latencyMs: number, code: number, details = ""): void {
    this.count++;
    this.latencySumMs += latencyMs;
    const name = STATUS_NAMES[code] ?? `Code(${code})`;
    this.statusCodes[name] = (this.statusCodes[name] ?? 0) + 1;
    if (code !== 0) {
      const message = `rpc error: code = ${name} desc = ${details}`;
      this.errors[message] = (this.errors[message] ?? 0) + 1;
      return;
    }
    if (this.okCount === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.okCount++] = latencyMs;
  }

  /** The report for a run that took `totalMs` of wall-clock time. */
  build(totalMs: number, options: Record<string, unknown>, endReason: GhzReport["endReason"]) {
    const ok = this.latencies.slice(0, this.okCount).sort();
    const ns = (ms: number) => Math.round(ms * 1e6);
    const report: GhzReport = {
      name: typeof options.name === "string" ? options.name : undefined,
      endReason,
      date: new Date().toISOString(),
      options,
      count: this.count,
      total: ns(totalMs),
      average: this.count > 0 ? ns(this.latencySumMs / this.count) : 0,
      fastest: ok.length > 0 ? ns(ok[0] as number) : 0,
      slowest: ok.length > 0 ? ns(ok[ok.length - 1] as number) : 0,
      rps: totalMs > 0 ? this.count / (totalMs / 1000) : 0,
      errorDistribution: this.errors,
      statusCodeDistribution: this.statusCodes,
      latencyDistribution: ok.length > 0 ? distribution(ok).map(scaled(ns)) : null,
      histogram: ok.length > 0 ? histogram(ok) : null,
      outcomes: this.outcomes,
    };
    return report;
  }
}

function scaled(ns: (ms: number) => number) {
  return (p: LatencyPoint): LatencyPoint => ({ percentage: p.percentage, latency: ns(p.latency) });
}

/** ghz's nearest-rank percentiles over sorted latencies (same index arithmetic as ghz). */
function distribution(sorted: Float64Array): LatencyPoint[] {
  return PERCENTILES.map((percentage) => {
    const rank = (percentage / 100) * sorted.length;
    let index = Math.floor(rank);
    if (rank === index) index -= 1;
    return { percentage, latency: sorted[Math.max(0, index)] as number };
  });
}

function histogram(sorted: Float64Array): HistogramBucket[] {
  const fastest = sorted[0] as number;
  const slowest = sorted[sorted.length - 1] as number;
  const buckets = 10;
  const step = (slowest - fastest) / buckets;
  const marks = Array.from({ length: buckets + 1 }, (_, i) =>
    i === buckets ? slowest : fastest + step * i,
  );
  const counts = new Array<number>(marks.length).fill(0);
  let b = 0;
  for (const latency of sorted) {
    while (b < marks.length - 1 && latency > (marks[b] as number)) b++;
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return marks.map((mark, i) => ({
    mark: mark / 1000,
    count: counts[i] ?? 0,
    frequency: (counts[i] ?? 0) / sorted.length,
  }));
}

/** The latency at `percentage` (one of 10 25 50 75 90 95 99) in milliseconds, if reported. */
export function percentileMs(report: GhzReport, percentage: number): number | undefined {
  const point = report.latencyDistribution?.find((p) => p.percentage === percentage);
  return point ? point.latency / 1e6 : undefined;
}

/** Calls that did not end OK. */
export function errorCount(report: GhzReport): number {
  return report.count - (report.statusCodeDistribution.OK ?? 0);
}
