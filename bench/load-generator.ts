import { parseArgs } from "node:util";
import { durationMs, readConfig, withRecordsPerMessage } from "./ghz-config.js";
import { openChannels } from "./grpc-calls.js";
import { runLoad } from "./load-loop.js";
import { cpuSnapshot, cpuUsedBetween } from "./process-stats.js";
import { compileMetadata, encodeBodies, findMethod } from "./request-bodies.js";

/**
 * The built-in load generator: a small ghz for machines without ghz. It reads the same JSON
 * config (`--config`), takes ghz's knobs on the command line (they override the config), runs
 * in its own process (never in the server's), and prints a ghz-compatible JSON report on stdout.
 *
 *   node dist/bench/load-generator.js --config bench/ghz/unary.json --var apiKey=pik_… \
 *     -c 75 -n 20000 [-z 30s] [--rps 2000] [--connections 4] [--stream-call-count 1000] \
 *     [--warmup 1000]
 *
 * `--server-pids 123,456` (not a ghz flag) adds the CPU those processes and the local PostgreSQL
 * used during the measured calls (`serverCpuSeconds`, `postgresCpuSeconds`; Linux /proc).
 * `--warmup N` (not a ghz flag) first makes N unreported calls (streams: one shorter stream), so
 * the figures measure a JIT-compiled client as they would a Go one. Warm-up calls carry keys of
 * their own (`warmup-<uuid>`), so they never touch the keys a run is about.
 * `--records-per-message N` (not a ghz flag) repeats the one record of a batch config
 * (bench/ghz/stream-batch.json) N times per message, as the bench's runner does; the report's
 * `count` stays calls and `stream-call-count` messages, so records are messages × N.
 */
const { values } = parseArgs({
  options: {
    config: { type: "string" },
    var: { type: "string", multiple: true, default: [] },
    host: { type: "string" },
    concurrency: { type: "string", short: "c" },
    total: { type: "string", short: "n" },
    duration: { type: "string", short: "z" },
    rps: { type: "string", short: "r" },
    connections: { type: "string" },
    "stream-call-count": { type: "string" },
    "records-per-message": { type: "string" },
    warmup: { type: "string", default: "0" },
    "server-pids": { type: "string", default: "" },
  },
});
if (!values.config) throw new Error("--config <ghz config.json> is required");
const placeholders = Object.fromEntries(
  values.var.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]),
);
const read = readConfig(values.config, placeholders);
const recordsPerMessage =
  values["records-per-message"] === undefined ? undefined : Number(values["records-per-message"]);
const config =
  recordsPerMessage === undefined ? read : withRecordsPerMessage(read, recordsPerMessage);
const num = (flag: string | undefined, fallback: number | undefined, dflt: number) =>
  flag !== undefined ? Number(flag) : (fallback ?? dflt);

const host = values.host ?? config.host;
const method = findMethod(config.call);
const concurrency = num(values.concurrency, config.concurrency, 50);
const total = num(values.total, config.total, 200);
const connections = Math.min(num(values.connections, config.connections, 1), concurrency);
const rps = num(values.rps, config.rps, 0);
const streamCallCount = num(values["stream-call-count"], config["stream-call-count"], 1);
const duration = durationMs(values.duration ?? config.duration);
const timeoutMs = config.timeout === undefined ? 20_000 : durationMs(config.timeout);

const bodies = encodeBodies(method, config.data, total);
const metadata = compileMetadata(config.metadata);
const clients = await openChannels(host, connections);
const plan = {
  method,
  clients,
  total,
  durationMs: duration,
  concurrency,
  rps,
  streamCallCount,
  timeoutMs,
  bodies,
  metadata,
};
const warmup = Number(values.warmup);
if (warmup > 0) {
  const streaming = method.methodKind === "client_streaming";
  await runLoad({
    ...plan,
    total: streaming ? 1 : warmup,
    durationMs: 0,
    rps: 0,
    streamCallCount: streaming ? Math.min(streamCallCount, warmup) : streamCallCount,
    metadata: (call) => {
      const md = metadata(call);
      md.set("idempotency-key", `warmup-${call.uuid}`);
      return md;
    },
  });
}
const serverPids = values["server-pids"].split(",").filter(Boolean).map(Number);
const watchBefore = cpuSnapshot(serverPids);
const cpuBefore = process.cpuUsage();
const result = await runLoad(plan);
const cpu = process.cpuUsage(cpuBefore);
const watched = serverPids.length > 0 ? cpuUsedBetween(watchBefore, cpuSnapshot(serverPids)) : {};
for (const c of clients) c.close();

const report = result.builder.build(
  result.totalMs,
  {
    name: config.name,
    call: config.call,
    host,
    total,
    concurrency,
    connections,
    rps,
    duration: values.duration ?? config.duration,
    "stream-call-count": method.methodKind === "client_streaming" ? streamCallCount : undefined,
    "records-per-message": recordsPerMessage,
    insecure: true,
    tool: "pos-ingest built-in generator",
  },
  result.endReason,
);
const clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ ...report, clientCpuSeconds, ...watched })}\n`);
