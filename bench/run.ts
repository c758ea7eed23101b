import { cleanUpOnInterrupt } from "./cleanup.js";
import { createContext } from "./context.js";
import { createFreshDatabase } from "./fresh-database.js";
import { createConfigDir } from "./ghz-config.js";
import { findGhz } from "./load-runner.js";
import { machineFacts } from "./machine.js";
import { parseOptions } from "./options.js";
import { redactedUrl, writeResults } from "./results-file.js";
import { renderTable } from "./results-table.js";
import { correctnessLoadTest, duplicatesVersusNew } from "./scenarios/deduplication.js";
import { memoryUnderLongStreams } from "./scenarios/memory.js";
import { replicasShareDedup } from "./scenarios/replicas.js";
import { measureServiceThroughput } from "./scenarios/service-throughput.js";
import { measureStorageCeiling } from "./scenarios/storage-ceiling.js";
import { measureTransportCeiling } from "./scenarios/transport-ceiling.js";
import { type ServerUnderTest, startServer } from "./server-process.js";
import { checkTargets, renderTargets, type TargetCheck } from "./targets.js";

/**
 * The benchmark suite (`npm run bench [-- --quick]`): measures the machine's ceilings — a bare
 * grpc-js server (transport) and raw Postgres inserts (storage) — then the real server in a child
 * process on a fresh database under the same loads, and prints the service's figures as ratios
 * of those ceilings. Load comes from ghz when it is on PATH, else from the built-in generator;
 * both run in processes of their own. Writes bench/results/<time>.json.
 */
const options = parseOptions(process.argv.slice(2));
cleanUpOnInterrupt();
const began = performance.now();
const ghzPath = findGhz();
const tool = ghzPath ? "ghz" : "built-in";
const dir = createConfigDir();
const { context, collected } = createContext(options, tool, ghzPath, dir);
const machine = await machineFacts(options.databaseUrl);
context.progress(
  ghzPath
    ? `load tool: ghz (${ghzPath}) with bench/ghz/*.json`
    : "load tool: built-in generator (ghz is not on PATH) with bench/ghz/*.json",
);

let targets: TargetCheck[] = [];
try {
  const transport = await measureTransportCeiling(context);
  const storage = await measureStorageCeiling(context);
  const db = await createFreshDatabase(options.databaseUrl);
  let server: ServerUnderTest | undefined;
  try {
    server = await startServer({ databaseUrl: db.url, nodeArgs: options.serverNodeArgs });
    context.progress(`service: node dist/src/main.js (pid ${server.pid}) on ${db.name}`);
    const target = { host: server.target, token: db.token, pid: server.pid };
    const service = await measureServiceThroughput(context, target, transport, storage);
    await correctnessLoadTest(context, target, db);
    if (options.dedupTotal > 0) await duplicatesVersusNew(context, target, db);
    const memory = await memoryUnderLongStreams(context, target, storage);
    targets = checkTargets({
      bestRawBatchRate: storage.bestBatch.rate,
      bareUnary: transport.unary,
      service,
      memory,
      memoryRecords: options.memory?.records ?? 1_000_000,
    });
  } finally {
    await server?.stop();
    await db.drop();
  }
  await replicasShareDedup(context);
} finally {
  dir.dispose();
}

const seconds = (performance.now() - began) / 1000;
const table = renderTable(collected.rows);
const when = new Date().toISOString();
process.stdout.write(
  `\n${table}\n\n${renderTargets(targets)}\n\n${options.quick ? "quick run" : "full run"}, load by ${tool}, ` +
    `${machine.cpus} CPUs, Node ${machine.node}, PostgreSQL ${machine.postgres}; ` +
    `${seconds.toFixed(0)} s\n`,
);
const databaseUrl = redactedUrl(options.databaseUrl);
const file = writeResults(when, options.quick ? "-quick" : "", {
  when,
  seconds,
  tool,
  machine,
  options: { ...options, databaseUrl },
  table,
  targets,
  ...collected,
});
process.stdout.write(`results: ${file}\n`);
