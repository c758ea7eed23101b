/**
 * `npm run bench:export`: how fast `pos-ingest send` loads a retailer's export through a mapping
 * (examples/exports/online-retail.mapping.yaml) against the same transactions in the plain CSV
 * format, in the same minutes, alternating: `--dry-run` (reading, mapping and the rules, the
 * client's whole CPU cost) and a real load into a fresh database through the real server.
 * Prints rows/s, sales/s and the CLI's CPU per row; figures go to bench/README.md.
 *
 *   node dist/bench/export-load.js [--sales 20000] [--rounds 3] [--baseline-cli OTHER/dist/src/cli/main.js]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportFiles } from "./export-rows.js";
import { createFreshDatabase } from "./fresh-database.js";
import { startServer } from "./server-process.js";

const { values } = parseArgs({
  options: {
    sales: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    /** Another build's CLI (e.g. a worktree of an older commit): its plain load, same rounds. */
    "baseline-cli": { type: "string" },
  },
});
const sales = Number(values.sales);
const rounds = Number(values.rounds);
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ownCli = new URL("../src/cli/main.js", import.meta.url).pathname;
const baselineCli = values["baseline-cli"];
const mapping = new URL("../../examples/exports/online-retail.mapping.yaml", import.meta.url)
  .pathname;
// The CLI's own CPU, reported by the process itself as it exits.
const CPU_HOOK =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('CPU_US '+JSON.stringify(process.cpuUsage())+'\\n'))";

interface Run {
  readonly seconds: number;
  readonly cpuMicros: number;
  readonly summary: { accepted: number; rejected: number; sales: number };
}

function send(cli: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, [`--import=${CPU_HOOK}`, cli, "send", ...args], {
      env: { ...process.env, ...env },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    child.on("close", (code) => {
      const seconds = (performance.now() - began) / 1000;
      const cpu = /CPU_US (\{.*\})/.exec(err)?.[1];
      if (code !== 0 || !cpu) {
        reject(new Error(`send ${args.join(" ")} exited ${code}: ${err.slice(-500)}`));
        return;
      }
      const { user, system } = JSON.parse(cpu) as { user: number; system: number };
      resolve({ seconds, cpuMicros: user + system, summary: JSON.parse(out) });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "pos-export-bench-"));
const db = await createFreshDatabase(databaseUrl);
const server = await startServer({ databaseUrl: db.url, nodeArgs: [] });
const env = { POS_INGEST_SERVER: `http://${server.target}`, POS_INGEST_API_KEY: db.token };
type Kind = "plain" | "mapped" | "baseline";
const kinds: Kind[] = baselineCli ? ["plain", "mapped", "baseline"] : ["plain", "mapped"];
const results: Record<
  string,
  { rowsPerSecond: number[]; salesPerSecond: number[]; cpuPerRow: number[] }
> = {};
let rows = 0;
try {
  for (let round = 0; round < rounds; round++) {
    // Each round in another order, so no kind always runs first on a cooler machine.
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as Kind);
    for (const kind of round % 2 === 0 ? order : order.reverse()) {
      const location = `bench-${kind}-${round}`;
      const files = exportFiles(sales, 7, location);
      rows = files.rows;
      const file = join(dir, `${location}.csv`);
      writeFileSync(file, kind === "mapped" ? files.exportCsv : files.plainCsv);
      const mapArgs =
        kind === "mapped" ? ["--mapping", mapping, "--set", `location_id=${location}`] : [];
      // An older CLI may have no --dry-run: the baseline only loads.
      const modes = kind === "baseline" ? (["load"] as const) : (["dry-run", "load"] as const);
      for (const mode of modes) {
        const args = [
          file,
          "--json",
          "--progress",
          "none",
          ...mapArgs,
          ...(mode === "dry-run" ? ["--dry-run"] : []),
        ];
        const run = await send(kind === "baseline" ? (baselineCli as string) : ownCli, args, env);
        if (run.summary.accepted !== sales || run.summary.rejected !== 0) {
          throw new Error(`${kind} ${mode}: ${JSON.stringify(run.summary).slice(0, 300)}`);
        }
        const name = `${mode} ${kind}`;
        const entry = results[name] ?? { rowsPerSecond: [], salesPerSecond: [], cpuPerRow: [] };
        results[name] = entry;
        entry.rowsPerSecond.push(files.rows / run.seconds);
        entry.salesPerSecond.push(sales / run.seconds);
        entry.cpuPerRow.push(run.cpuMicros / files.rows);
        process.stderr.write(
          `round ${round + 1} ${mode} ${kind}: ${Math.round(files.rows / run.seconds)} rows/s, ${Math.round(run.cpuMicros / files.rows)} µs CLI CPU/row\n`,
        );
      }
    }
  }
} finally {
  await server.stop();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
process.stdout.write(
  `\n${sales.toLocaleString("en-US")} transactions, ${rows.toLocaleString("en-US")} rows, ${rounds} alternating rounds (medians; whole process, start-up included)\n`,
);
if (baselineCli) process.stdout.write(`baseline: ${baselineCli}\n`);
process.stdout.write(
  "| run | rows/s | sales/s | CLI CPU µs/row | ÷ plain |\n|---|--:|--:|--:|--:|\n",
);
for (const mode of ["dry-run", "load"]) {
  const plain = results[`${mode} plain`];
  for (const kind of kinds) {
    const r = results[`${mode} ${kind}`];
    if (!r || !plain) continue;
    const ratio = median(r.rowsPerSecond) / median(plain.rowsPerSecond);
    process.stdout.write(
      `| ${mode} ${kind} | ${fmt(median(r.rowsPerSecond))} | ${fmt(median(r.salesPerSecond))} | ${median(r.cpuPerRow).toFixed(1)} | ${ratio.toFixed(2)} |\n`,
    );
  }
}
