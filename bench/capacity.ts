import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import pg from "pg";
import { parseCapacityOptions } from "./capacity-options.js";
import { fmt, type MeasuredCosts, planCapacity } from "./capacity-plan.js";
import { capacityRows, costsFrom, type MedianFigure, summarise } from "./capacity-summary.js";
import { startNodeChild, stopChild } from "./child.js";
import { cleanUpOnInterrupt } from "./cleanup.js";
import { createContext } from "./context.js";
import { createFreshDatabase } from "./fresh-database.js";
import { createConfigDir } from "./ghz-config.js";
import { findGhz } from "./load-runner.js";
import { machineFacts } from "./machine.js";
import { redactedUrl, writeResults } from "./results-file.js";
import { renderTable } from "./results-table.js";
import { type CapacityRound, measureCapacityRounds } from "./scenarios/capacity-rounds.js";
import { callers, n } from "./scenarios/shared.js";
import { startServer } from "./server-process.js";

/**
 * `npm run bench:capacity` (issue 14): measures what one replica costs per unary call and per
 * streamed record — CPU of the server process and of PostgreSQL, with the bare grpc-js server's
 * cost beside it as the transport ceiling — over several rounds, and turns the medians into a
 * capacity plan for the target on the command line, printing every step of the arithmetic.
 * Writes bench/results/<time>-capacity.json.
 */
const options = (() => {
  try {
    return parseCapacityOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
})();
const { bench, loads, target } = options;
if (options.from) {
  // Re-plans for another target from a run's costs, so a plan need not wait for a new run.
  const saved = JSON.parse(readFileSync(options.from, "utf8")) as {
    when: string;
    costs: MeasuredCosts;
    basis: string[];
  };
  const lines = [
    `capacity plan from ${options.from} (measured ${saved.when})`,
    ...saved.basis.map((line) => `  (${line})`),
    "",
    ...planCapacity(saved.costs, target).lines,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.exit(0);
}
cleanUpOnInterrupt();
const began = performance.now();
const loadBefore = loadavg().map((v) => Number(v.toFixed(2)));
const ghzPath = findGhz();
const tool = ghzPath ? "ghz" : "built-in";
const dir = createConfigDir();
const { context, collected } = createContext(bench, tool, ghzPath, dir);
const machine = await machineFacts(bench.databaseUrl);
context.progress(`load tool: ${ghzPath ? `ghz (${ghzPath})` : "built-in generator"}`);

let rounds: CapacityRound[];
try {
  const bare = await startNodeChild<{ port: number }>("bare-server");
  try {
    const db = await createFreshDatabase(bench.databaseUrl);
    try {
      // Lists the bench database's backends for their CPU (database-cpu.ts).
      const admin = new pg.Client({ connectionString: bench.databaseUrl });
      await admin.connect();
      try {
        const server = await startServer({
          databaseUrl: db.url,
          nodeArgs: bench.serverNodeArgs,
          ...(loads.redis ? { redisUrl: bench.redisUrl } : {}),
        });
        try {
          context.progress(`service pid ${server.pid} on ${db.name}; bare pid ${bare.child.pid}`);
          rounds = await measureCapacityRounds(
            context,
            loads,
            { host: `127.0.0.1:${bare.ready.port}`, pid: bare.child.pid ?? 0 },
            {
              target: { host: server.target, token: db.token, pid: server.pid },
              database: db.name,
              admin,
            },
          );
        } finally {
          await server.stop();
        }
      } finally {
        await admin.end();
      }
    } finally {
      await db.drop();
    }
  } finally {
    await stopChild(bare.child);
  }
} finally {
  dir.dispose();
}

const loadAfter = loadavg().map((v) => Number(v.toFixed(2)));
const seconds = (performance.now() - began) / 1000;
const summary = summarise(rounds);
const sale = loads.sale === "v2" ? " v2" : "";
const labels = {
  unary: `unary${sale}, ${callers(loads.concurrency)}`,
  paced: `unary${sale} paced at ${n(loads.pacedRps)}/s`,
  stream: `stream${sale}, ${n(loads.streamRecords)} records`,
};
const table = renderTable(capacityRows(rounds, summary, labels));
const { costs, basis } = costsFrom(summary);
const plan = planCapacity(costs, target);

const perCore = (f: MedianFigure) => {
  const cpu = f.measurement.serverCpuUs;
  return cpu === undefined
    ? "–"
    : `${fmt(cpu)} µs → ${fmt(1e6 / cpu)} ${f.measurement.unit} per core`;
};
const ratio = (service: MedianFigure, bareFigure: MedianFigure) => {
  const [a, b] = [service.measurement.serverCpuUs, bareFigure.measurement.serverCpuUs];
  return a === undefined || b === undefined ? "" : ` (${(a / b).toFixed(2)}× the bare server's)`;
};
const out = [
  "",
  table,
  "",
  `server CPU per operation, median of ${summary.rounds} round${summary.rounds === 1 ? "" : "s"}:`,
  `  bare grpc-js, unary:  ${perCore(summary.bareUnary)}`,
  `  service, unary:       ${perCore(summary.unary)}${ratio(summary.unary, summary.bareUnary)}`,
  ...(summary.paced ? [`  service, unary paced: ${perCore(summary.paced)}`] : []),
  `  bare grpc-js, stream: ${perCore(summary.bareStream)}`,
  `  service, stream:      ${perCore(summary.stream)}${ratio(summary.stream, summary.bareStream)}`,
  "",
  `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `PostgreSQL ${machine.postgres} (synchronous_commit ${machine.synchronousCommit}); ` +
    `load average before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}; ` +
    `load by ${tool}; service ${loads.redis ? "with" : "without"} Redis; ${seconds.toFixed(0)} s`,
  "",
  "capacity plan",
  ...basis.map((line) => `  (${line})`),
  "",
  ...plan.lines,
];
process.stdout.write(`${out.join("\n")}\n`);
const when = new Date().toISOString();
const file = writeResults(when, "-capacity", {
  when,
  seconds,
  tool,
  machine,
  loadAverage: { before: loadBefore, after: loadAfter },
  options: { ...options, bench: { ...bench, databaseUrl: redactedUrl(bench.databaseUrl) } },
  rounds,
  summary,
  costs,
  basis,
  plan,
  table,
  ...collected,
});
process.stdout.write(`results: ${file}\n`);
