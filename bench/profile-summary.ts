import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * Summarises a V8 `.cpuprofile` (from `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=…"`) on the
 * terminal, where there is no DevTools: self time by category (protobuf-es, grpc-js, GC, each of
 * the service's modules, …) and by function. `--window stream-session` restricts it to the span
 * between the first and last sample in a file whose URL contains that text, so a profile of a
 * whole bench run can be read for one scenario.
 *
 *   node dist/bench/profile-summary.js prof/CPU.…cpuprofile --window stream-session --top 30
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { window: { type: "string" }, top: { type: "string", default: "25" } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write("usage: profile-summary FILE.cpuprofile [--window URL-TEXT] [--top N]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));

/** Where a sample's time goes: a dependency, a part of Node, or one of our modules. */
function category(frame: CallFrame): string {
  const { functionName: name, url } = frame;
  if (name === "(idle)") return "idle";
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "(program)";
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] as string;
  if (url.startsWith("node:internal/http2")) return "node: http2";
  if (url.includes("internal/streams")) return "node: streams";
  if (url.startsWith("node:"))
    return `node: ${url.replace(/^node:(internal\/)?/, "").split("/")[0]}`;
  const ours = /\/dist\/(.*)$/.exec(url);
  if (ours) return ours[1] as string;
  return url === "" ? `native: ${name || "(anonymous)"}` : url;
}

function functionKey(frame: CallFrame): string {
  const where = frame.url.split("/").slice(-2).join("/");
  return `${frame.functionName || "(anonymous)"} ${where}:${frame.lineNumber + 1}`;
}

// Sample i is taken at startTime + Σ timeDeltas[0..i] and stands for the time until the next one.
const times: number[] = [];
let now = profile.startTime;
for (const delta of profile.timeDeltas) {
  now += delta;
  times.push(now);
}
let from = Number.NEGATIVE_INFINITY;
let to = Number.POSITIVE_INFINITY;
if (values.window) {
  const hits = profile.samples
    .map((id, i) => (frames.get(id)?.url.includes(values.window as string) ? times[i] : undefined))
    .filter((t): t is number => t !== undefined);
  if (hits.length === 0) throw new Error(`no sample in a file matching ${values.window}`);
  [from, to] = [hits[0] as number, hits[hits.length - 1] as number];
}

const byCategory = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const t = times[i] as number;
  const frame = frames.get(id);
  if (t < from || t > to || !frame) return;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  total += dt;
  if (frame.functionName === "(idle)") idle += dt;
  const c = category(frame);
  byCategory.set(c, (byCategory.get(c) ?? 0) + dt);
  const f = functionKey(frame);
  byFunction.set(f, (byFunction.get(f) ?? 0) + dt);
});

const top = Number(values.top);
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const print = (title: string, table: Map<string, number>) => {
  process.stdout.write(`\n${title} (% of window, % of busy time)\n`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const ofBusy = name === "idle" || name.startsWith("(idle)") ? "" : (100 * us) / (total - idle);
    const busy = ofBusy === "" ? "      " : `${ofBusy.toFixed(1).padStart(5)}%`;
    process.stdout.write(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${busy}${ms(us)}  ${name}\n`,
    );
  }
};
const start = from === Number.NEGATIVE_INFINITY ? 0 : (from - profile.startTime) / 1e6;
process.stdout.write(
  `window from ${start.toFixed(2)} s, ${(total / 1e6).toFixed(2)} s long, ` +
    `main thread busy ${((total - idle) / 1e6).toFixed(2)} s\n`,
);
print("self time by category", byCategory);
print("self time by function", byFunction);
