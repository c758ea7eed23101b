import { parseArgs } from "node:util";
import type { CapacityTarget } from "./capacity-plan.js";
import { type BenchOptions, parseOptions } from "./options.js";

/** The loads the capacity run measures, each repeated `rounds` times. */
export interface CapacityLoads {
  readonly rounds: number;
  /** Unary callers at once: enough to saturate one replica. */
  readonly concurrency: number;
  readonly calls: number;
  readonly streamRecords: number;
  /**
   * A second unary load at a fixed rate, below saturation: fewer calls share each group-commit
   * INSERT, so Postgres pays more per call than at saturation. 0 leaves it out.
   */
  readonly pacedRps: number;
  readonly pacedCalls: number;
  /** `v2`: the README's VAT receipt (bench/ghz/*-v2.json) instead of the two-line v1 sale. */
  readonly sale: "v1" | "v2";
  /** Run the service with REDIS_URL, as production does: every call also asks Redis for budget. */
  readonly redis: boolean;
}

/** The capacity run's options: the bench's own (database, node flags, warm-up), loads, target. */
export interface CapacityOptions {
  readonly bench: BenchOptions;
  readonly loads: CapacityLoads;
  readonly target: CapacityTarget;
  /** A results file of an earlier capacity run: plan from its costs, measure nothing. */
  readonly from: string | undefined;
}

const DEFAULTS = {
  rounds: 3,
  concurrency: 75,
  calls: 20_000,
  "stream-records": 100_000,
  "paced-rps": 400,
  "paced-calls": 8_000,
  stores: 10_000,
  "sales-per-store-day": 1_000,
  "peak-factor": 10,
  backlog: 50_000_000,
  "backlog-hours": 24,
  headroom: 0.6,
  "cores-per-replica": 1,
  "cores-per-worker": 4,
  "min-replicas": 3,
  tenants: 1,
  "tenant-limit": 2_000,
  "pool-max": 10,
} as const;

type Name = keyof typeof DEFAULTS;

const USAGE = `npm run bench:capacity -- [options]
measured (each load --rounds times; the plan takes the median of each figure):
  --rounds ${DEFAULTS.rounds}  -c ${DEFAULTS.concurrency} (unary callers)  -n ${DEFAULTS.calls} (calls)  --stream-records ${DEFAULTS["stream-records"]}
  --paced-rps ${DEFAULTS["paced-rps"]} --paced-calls ${DEFAULTS["paced-calls"]} (unary below saturation; --paced-rps 0 skips it)
  --sale v1|v2 (v1: the two-line sale; v2: the README's VAT receipt)
  --redis (the service with REDIS_URL, default redis://127.0.0.1:6379, as production runs it)
  --from bench/results/<time>-capacity.json (measure nothing: plan from that run's costs)
target:
  --stores ${DEFAULTS.stores} --sales-per-store-day ${DEFAULTS["sales-per-store-day"]} --peak-factor ${DEFAULTS["peak-factor"]}
  --backlog ${DEFAULTS.backlog} --backlog-hours ${DEFAULTS["backlog-hours"]} --headroom ${DEFAULTS.headroom} (utilisation target)
  --cores-per-replica ${DEFAULTS["cores-per-replica"]} --cores-per-worker ${DEFAULTS["cores-per-worker"]} (Citus) --min-replicas ${DEFAULTS["min-replicas"]}
  --tenants ${DEFAULTS.tenants} --tenant-limit ${DEFAULTS["tenant-limit"]} (RATE_LIMIT_RECORDS_PER_SECOND) --pool-max ${DEFAULTS["pool-max"]} (DB_POOL_MAX)
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), REDIS_URL, BENCH_NODE_ARGS`;

/** Parses `npm run bench:capacity`'s command line; a bad number names its option. */
export function parseCapacityOptions(argv: readonly string[]): CapacityOptions {
  const numeric = Object.fromEntries(
    Object.keys(DEFAULTS).map((name) => [name, { type: "string" as const }]),
  ) as Record<Name, { type: "string" }>;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...numeric,
      concurrency: { type: "string", short: "c" },
      calls: { type: "string", short: "n" },
      sale: { type: "string", default: "v1" },
      redis: { type: "boolean", default: false },
      from: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: Name, check: (v: number) => boolean, expected: string): number => {
    const text = values[name];
    const value = text === undefined ? DEFAULTS[name] : Number(text);
    if (!Number.isFinite(value) || !check(value)) {
      throw new Error(`--${name}: expected ${expected}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  const count = (name: Name) =>
    num(name, (v) => Number.isInteger(v) && v >= 1, "a whole number ≥ 1");
  const positive = (name: Name) => num(name, (v) => v > 0, "a number > 0");
  if (values.sale !== "v1" && values.sale !== "v2") {
    throw new Error(`--sale: expected v1 or v2, got ${JSON.stringify(values.sale)}`);
  }
  return {
    bench: parseOptions([]),
    loads: {
      rounds: count("rounds"),
      concurrency: count("concurrency"),
      calls: count("calls"),
      streamRecords: count("stream-records"),
      pacedRps: num("paced-rps", (v) => Number.isInteger(v) && v >= 0, "a whole number ≥ 0"),
      pacedCalls: count("paced-calls"),
      sale: values.sale,
      redis: values.redis,
    },
    target: {
      stores: count("stores"),
      salesPerStoreDay: positive("sales-per-store-day"),
      peakFactor: num("peak-factor", (v) => v >= 1, "a number ≥ 1"),
      backlog: num("backlog", (v) => v >= 0, "a number ≥ 0"),
      backlogHours: positive("backlog-hours"),
      headroom: num("headroom", (v) => v > 0 && v <= 1, "a fraction in (0, 1]"),
      coresPerReplica: positive("cores-per-replica"),
      coresPerWorker: positive("cores-per-worker"),
      minReplicas: num("min-replicas", (v) => Number.isInteger(v) && v >= 0, "a whole number ≥ 0"),
      tenants: count("tenants"),
      tenantLimit: count("tenant-limit"),
      poolMax: count("pool-max"),
    },
    from: values.from,
  };
}
