import { parseArgs } from "node:util";

/** How big each part of a run is. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Extra node flags for the server under test (BENCH_NODE_ARGS), e.g. `--cpu-prof`. */
  readonly serverNodeArgs: readonly string[];
  /** Unreported calls before the first measured unary run (JIT, pools, caches). */
  readonly warmup: number;
  readonly unary: readonly { readonly concurrency: number; readonly total: number }[];
  readonly streams: readonly number[];
  /**
   * Also measure IngestBatchStream (`--skip batch` leaves it out): the bare and service streams
   * of every length in `streams`, and the memory runs, with batch messages.
   */
  readonly batch: boolean;
  /** Records per IngestBatchStream message (`--records-per-message`). */
  readonly recordsPerMessage: number;
  /** Also measure with a sale of the v2 model (`--skip v2` leaves it out, to compare with v1 builds). */
  readonly v2: boolean;
  readonly correctness: {
    readonly total: number;
    readonly keys: number;
    readonly concurrency: number;
  };
  /** All-new run vs the same keys again (100% duplicates); 0 skips it. */
  readonly dedupTotal: number;
  readonly memory: { readonly records: number; readonly repeats: number } | undefined;
  readonly replicas: { readonly keys: number; readonly concurrency: number } | undefined;
  readonly storage: {
    /** [concurrency, rows] for single-row autocommit inserts. */
    readonly single: readonly (readonly [number, number])[];
    readonly batchRows: number;
    readonly batchSize: number;
    readonly batchConnections: readonly number[];
  };
}

const USAGE = `npm run bench -- [--quick] [-c 1,16,75,200] [-n 20000] [--stream-records 1000,100000]
                    [--records-per-message 500] [--memory-records 1000000]
                    [--skip unary,streams,batch,v2,dedup,memory,replicas]
  --memory-records with --quick also runs the memory part (skipped by --quick otherwise)`;

/** Parses the bench's command line; `--quick` is the under-a-minute subset. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      concurrency: { type: "string", short: "c" },
      requests: { type: "string", short: "n" },
      "stream-records": { type: "string" },
      "memory-records": { type: "string" },
      "records-per-message": { type: "string" },
      skip: { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const skip = new Set(values.skip.split(",").filter(Boolean));
  const list = (text: string | undefined, fallback: number[]) =>
    text ? text.split(",").map(Number) : fallback;
  const levels = skip.has("unary") ? [] : list(values.concurrency, quick ? [75] : [1, 16, 75, 200]);
  // Enough calls for a stable figure at each level without a serial run taking minutes.
  const defaultTotal = (c: number) => (quick ? 4_000 : c === 1 ? 2_000 : c < 50 ? 10_000 : 20_000);
  const memoryRecords = Number(values["memory-records"] ?? 1_000_000);
  // A quick run leaves the memory part out unless it is asked for with a size of its own.
  const memoryWanted = !quick || values["memory-records"] !== undefined;
  const recordsPerMessage = Number(values["records-per-message"] ?? 500);
  if (!Number.isInteger(recordsPerMessage) || recordsPerMessage < 1)
    throw new Error(`--records-per-message must be a positive integer, got ${recordsPerMessage}`);
  return {
    quick,
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    serverNodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
    warmup: quick ? 1_000 : 5_000,
    unary: levels.map((concurrency) => ({
      concurrency,
      total: values.requests ? Number(values.requests) : defaultTotal(concurrency),
    })),
    streams: skip.has("streams")
      ? []
      : list(values["stream-records"], quick ? [20_000] : [1_000, 100_000]),
    batch: !skip.has("batch"),
    recordsPerMessage,
    v2: !skip.has("v2"),
    correctness: { total: 2_000, keys: 400, concurrency: 75 },
    dedupTotal: quick || skip.has("dedup") ? 0 : 10_000,
    memory:
      !memoryWanted || skip.has("memory") || memoryRecords === 0
        ? undefined
        : { records: memoryRecords, repeats: 3 },
    replicas: quick || skip.has("replicas") ? undefined : { keys: 4_000, concurrency: 75 },
    storage: {
      single: quick
        ? [[75, 3_000]]
        : [
            [1, 1_000],
            [16, 5_000],
            [75, 10_000],
          ],
      batchRows: quick ? 10_000 : 50_000,
      batchSize: 500,
      batchConnections: [1, 2],
    },
  };
}
