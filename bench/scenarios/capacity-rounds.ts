import { loadavg } from "node:os";
import type pg from "pg";
import type { CapacityLoads } from "../capacity-options.js";
import type { BenchContext } from "../context.js";
import { databaseBackendsCpu } from "../database-cpu.js";
import type { ConfigName } from "../ghz-config.js";
import { type LoadRun, warmupOperations } from "../load-runner.js";
import { type Measurement, streamMeasurement, unaryMeasurement } from "../measurement.js";
import type { ServiceTarget } from "./service-throughput.js";
import { callers, n, newRunId, streamLoad, unaryLoad } from "./shared.js";

/** One load's figures. */
export interface CapacityFigure {
  readonly measurement: Measurement;
  /** CPU µs per operation of the bench database's own backends (see database-cpu.ts). */
  readonly databaseCpuUs?: number;
  /** The machine's 1-minute load average when the load ended. */
  readonly loadAverage: number;
}

/** One round: each load once, bare server and service alternating. */
export interface CapacityRound {
  readonly bareUnary: CapacityFigure;
  readonly unary: CapacityFigure;
  readonly paced?: CapacityFigure;
  readonly bareStream: CapacityFigure;
  readonly stream: CapacityFigure;
}

/** The bare grpc-js server (transport ceiling) running beside the service. */
export interface BareTarget {
  readonly host: string;
  readonly pid: number;
}

/** The service under test and the database it writes to, watched through `admin`. */
export interface CapacityService {
  readonly target: ServiceTarget;
  readonly database: string;
  readonly admin: pg.Client;
}

const loadAverage = () => Number(loadavg()[0]?.toFixed(2));

/**
 * Runs the capacity loads `loads.rounds` times. Within a round the bare server and the service
 * take turns (unary, then stream), so both see the shared machine in much the same state; the
 * CPU per operation is the figure that survives a loaded machine, throughput is not.
 */
export async function measureCapacityRounds(
  ctx: BenchContext,
  loads: CapacityLoads,
  bare: BareTarget,
  service: CapacityService,
): Promise<CapacityRound[]> {
  const unaryConfig: ConfigName = loads.sale === "v2" ? "unary-v2" : "unary";
  const streamConfig: ConfigName = loads.sale === "v2" ? "stream-v2" : "stream";
  const { host, token, pid } = service.target;
  const placeholders = { apiKey: token, runId: newRunId() };
  const bareKeys = { apiKey: "unused", runId: newRunId() };
  ctx.progress(`warm-up: ${n(ctx.options.warmup)} calls to each server`);
  await ctx.load("bare warm-up", unaryLoad(bare.host, bareKeys, 75, ctx.options.warmup));
  await ctx.load("service warm-up", unaryLoad(host, placeholders, 75, ctx.options.warmup));

  const bareRun = async (name: string, run: LoadRun, records?: number) => {
    const report = await ctx.load(name, run, [bare.pid]);
    const measurement =
      records === undefined ? unaryMeasurement(report) : streamMeasurement(report, records);
    return { measurement, loadAverage: loadAverage() };
  };
  const serviceRun = async (name: string, run: LoadRun, records?: number) => {
    const { result: report, cpuSeconds } = await databaseBackendsCpu(
      service.admin,
      service.database,
      () => ctx.load(name, run, [pid]),
    );
    const measurement =
      records === undefined ? unaryMeasurement(report) : streamMeasurement(report, records);
    const operations = report.count * (records ?? 1) + warmupOperations(ctx.tool, run);
    if (measurement.errors > 0) ctx.progress(`  ${name}: ${measurement.errors} calls failed`);
    return {
      measurement,
      databaseCpuUs: cpuSeconds === undefined ? undefined : (cpuSeconds * 1e6) / operations,
      loadAverage: loadAverage(),
    };
  };

  const rounds: CapacityRound[] = [];
  for (let r = 1; r <= loads.rounds; r++) {
    const unaryWhat = `unary, ${callers(loads.concurrency)}, ${n(loads.calls)} calls`;
    const streamWhat = `one stream of ${n(loads.streamRecords)} records`;
    ctx.progress(`round ${r}/${loads.rounds}: bare ${unaryWhat}`);
    const bareUnary = await bareRun(
      `bare unary #${r}`,
      unaryLoad(bare.host, bareKeys, loads.concurrency, loads.calls, unaryConfig),
    );
    ctx.progress(`round ${r}/${loads.rounds}: service ${unaryWhat}`);
    const unary = await serviceRun(
      `service unary #${r}`,
      unaryLoad(host, placeholders, loads.concurrency, loads.calls, unaryConfig),
    );
    let paced: CapacityFigure | undefined;
    if (loads.pacedRps > 0) {
      ctx.progress(
        `round ${r}/${loads.rounds}: service unary paced at ${n(loads.pacedRps)} calls/s, ` +
          `${n(loads.pacedCalls)} calls`,
      );
      // No warm-up burst: the server is warm, and unpaced calls would dilute the paced cost.
      const run = unaryLoad(host, placeholders, loads.concurrency, loads.pacedCalls, unaryConfig);
      paced = await serviceRun(`service unary paced #${r}`, {
        ...run,
        rps: loads.pacedRps,
        warmup: 0,
      });
    }
    ctx.progress(`round ${r}/${loads.rounds}: bare ${streamWhat}`);
    const bareStream = await bareRun(
      `bare stream #${r}`,
      streamLoad(bare.host, bareKeys, loads.streamRecords, streamConfig),
      loads.streamRecords,
    );
    ctx.progress(`round ${r}/${loads.rounds}: service ${streamWhat}`);
    const stream = await serviceRun(
      `service stream #${r}`,
      streamLoad(host, placeholders, loads.streamRecords, streamConfig),
      loads.streamRecords,
    );
    rounds.push({ bareUnary, unary, ...(paced ? { paced } : {}), bareStream, stream });
  }
  return rounds;
}
