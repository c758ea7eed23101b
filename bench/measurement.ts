import { errorCount, type GhzReport, percentileMs } from "./report.js";

/** The figures the bench compares, taken from one load report. */
export interface Measurement {
  /** Calls/s for unary runs; records/s for streams. */
  readonly rate: number;
  readonly unit: "calls/s" | "records/s" | "rows/s";
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly errors: number;
  readonly seconds: number;
  /** Server process CPU per call or record, in microseconds (Linux /proc only). */
  readonly serverCpuUs?: number;
  /** Load generator CPU per call or record, in microseconds (built-in generator only). */
  readonly clientCpuUs?: number;
  /** Local PostgreSQL CPU per call or record, in microseconds (Linux /proc only). */
  readonly postgresCpuUs?: number;
}

function perOp(seconds: number | undefined, ops: number): number | undefined {
  return seconds === undefined || ops === 0 ? undefined : (seconds * 1e6) / ops;
}

/** Unary figures from a report: calls/s over the whole run, latency percentiles. */
export function unaryMeasurement(report: GhzReport): Measurement {
  return {
    rate: report.rps,
    unit: "calls/s",
    p50Ms: percentileMs(report, 50),
    p95Ms: percentileMs(report, 95),
    p99Ms: percentileMs(report, 99),
    errors: errorCount(report),
    seconds: report.total / 1e9,
    serverCpuUs: perOp(report.serverCpuSeconds, report.count),
    clientCpuUs: perOp(report.clientCpuSeconds, report.count),
    postgresCpuUs: perOp(report.postgresCpuSeconds, report.count),
  };
}

/**
 * Stream figures from a report: records/s over the run's wall-clock time (ghz's `total`), counting
 * only records of calls that ended OK. Latency percentiles of one call say nothing, so they are
 * left out unless the run had many calls.
 */
export function streamMeasurement(report: GhzReport, recordsPerCall: number): Measurement {
  const ok = report.statusCodeDistribution.OK ?? 0;
  const seconds = report.total / 1e9;
  const many = report.count >= 20;
  return {
    rate: seconds > 0 ? (ok * recordsPerCall) / seconds : 0,
    unit: "records/s",
    p50Ms: many ? percentileMs(report, 50) : undefined,
    p95Ms: many ? percentileMs(report, 95) : undefined,
    p99Ms: many ? percentileMs(report, 99) : undefined,
    errors: errorCount(report),
    seconds,
    serverCpuUs: perOp(report.serverCpuSeconds, report.count * recordsPerCall),
    clientCpuUs: perOp(report.clientCpuSeconds, report.count * recordsPerCall),
    postgresCpuUs: perOp(report.postgresCpuSeconds, report.count * recordsPerCall),
  };
}
