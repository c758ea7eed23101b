import type { MethodTally } from "./message-meter.js";
import type { ModelRun } from "./reconcile-model.js";

/** One timed run of one scenario of the reconcile bench. */
export interface RunSample {
  readonly scenario: string;
  /** 0: the warm-up, which also counts bytes; not in the medians. */
  readonly round: number;
  readonly ms: number;
  /** Calls and search figures the run reported (the same every round). */
  readonly outcome: Record<string, unknown>;
  readonly wire: Record<string, MethodTally>;
  /** Heap used after the run minus before it (garbage not yet collected included). */
  readonly gatewayHeapGrowthMiB: number;
  /** The same after a full GC: what the run's answer keeps. */
  readonly gatewayRetainedMiB: number;
  readonly gatewayRssGrowthMiB: number;
  readonly serverCpuMs: number;
  readonly postgresCpuMs: number;
  readonly serverPeakRssMiB: number;
}

/** Median, min and max of the timed rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One scenario's figures over the timed rounds, bytes from the warm-up. */
export interface ScenarioSummary {
  readonly ms: Spread;
  /** Time with a call in flight; the rest of `ms` is the gateway's own work. */
  readonly networkMs: Spread;
  readonly gatewayMs: Spread;
  readonly serverCpuMs: Spread;
  readonly postgresCpuMs: Spread;
  readonly gatewayHeapGrowthMiB: Spread;
  readonly gatewayRetainedMiB: Spread;
  readonly serverPeakRssMiB: Spread;
  readonly outcome: Record<string, unknown>;
  readonly bytes: MethodTally;
  readonly byMethod: Record<string, MethodTally>;
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, min: s[0] ?? 0, max: s.at(-1) ?? 0 };
}

/** Per scenario, in first-seen order. */
export function summarise(samples: readonly RunSample[]): Record<string, ScenarioSummary> {
  const out: Record<string, ScenarioSummary> = {};
  for (const scenario of new Set(samples.map((s) => s.scenario))) {
    const mine = samples.filter((s) => s.scenario === scenario);
    const timed = mine.filter((s) => s.round > 0);
    const warm = mine.find((s) => s.round === 0);
    const of = (f: (s: RunSample) => number) => spread(timed.map(f));
    const busy = (s: RunSample) => s.wire.all?.busyMs ?? 0;
    const outcomes = new Set(timed.map((s) => JSON.stringify(s.outcome)));
    out[scenario] = {
      ms: of((s) => s.ms),
      networkMs: of(busy),
      gatewayMs: of((s) => s.ms - busy(s)),
      serverCpuMs: of((s) => s.serverCpuMs),
      postgresCpuMs: of((s) => s.postgresCpuMs),
      gatewayHeapGrowthMiB: of((s) => s.gatewayHeapGrowthMiB),
      gatewayRetainedMiB: of((s) => s.gatewayRetainedMiB),
      serverPeakRssMiB: of((s) => s.serverPeakRssMiB),
      // The search is deterministic for one key set; several outcomes would be a finding.
      outcome: outcomes.size === 1 ? (timed[0]?.outcome ?? {}) : { varied: [...outcomes] },
      bytes: warm?.wire.all as MethodTally,
      byMethod: Object.fromEntries(Object.entries(warm?.wire ?? {}).filter(([k]) => k !== "all")),
    };
  }
  return out;
}

const n = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const range = (s: Spread, digits = 0) =>
  `${n(s.median, digits)} (${n(s.min, digits)}–${n(s.max, digits)})`;
const kib = (bytes: number) => `${n(bytes / 1024, 1)} KiB`;

const LABELS: Record<string, string> = {
  matching: "matching day: Reconcile",
  missing: "missing: Reconcile + bisection",
  baseline: "baseline: ListKeys all pages + diff",
};

/** The bench's Markdown table and the facts it needs. */
export function reconcileTable(r: {
  stored: number;
  otherDays: number;
  dayIndex: boolean;
  keyIndex: boolean;
  missingCount: number;
  rounds: number;
  figuresMs: number;
  sortedKeysMs: number;
  sortedKeysMiB: number;
  serverIdleMiB: number;
  serverPeakMiB: number;
  summary: Record<string, ScenarioSummary>;
  model: readonly ModelRun[];
}): string {
  const lines = [
    "",
    `A day of ${n(r.stored)} stored transactions at one store (${r.otherDays} more days of the ` +
      `same size in the tenant; day index ${r.dayIndex ? "on" : "off"}, key index ` +
      `${r.keyIndex ? "on" : "off"}); "missing": the gateway ` +
      `holds ${r.missingCount} more. ${r.rounds} timed rounds after a warm-up, median (min–max); ` +
      "bytes are protobuf bytes of the warm-up's messages.",
    "",
    "| scenario | ms | calls (digest / list, rounds) | largest request / response | bytes sent / received | network ms | gateway ms | server CPU ms | Postgres CPU ms | gateway heap growth / retained MiB | server peak RSS MiB |",
    "| --- | --: | --- | --: | --: | --: | --: | --: | --: | --: | --: |",
  ];
  for (const [name, s] of Object.entries(r.summary)) {
    const o = s.outcome as {
      calls?: number;
      digestCalls?: number;
      listCalls?: number;
      rounds?: number;
    };
    const calls =
      o.digestCalls !== undefined
        ? `${o.calls} (${o.digestCalls} / ${o.listCalls}, ${o.rounds} rounds)`
        : `${o.calls ?? "?"}`;
    lines.push(
      `| ${LABELS[name] ?? name} | ${range(s.ms)} | ${calls} | ` +
        `${kib(s.bytes?.maxRequestBytes ?? 0)} / ${kib(s.bytes?.maxResponseBytes ?? 0)} | ` +
        `${kib(s.bytes?.requestBytes ?? 0)} / ${kib(s.bytes?.responseBytes ?? 0)} | ` +
        `${range(s.networkMs)} | ${range(s.gatewayMs)} | ${range(s.serverCpuMs)} | ` +
        `${range(s.postgresCpuMs)} | ${n(s.gatewayHeapGrowthMiB.median, 1)} / ` +
        `${n(s.gatewayRetainedMiB.median, 1)} | ${range(s.serverPeakRssMiB)} |`,
    );
  }
  lines.push(
    "",
    `Gateway: generating its day's ${n(r.stored + r.missingCount)} sales and summing their Z ` +
      `report ${n(r.figuresMs)} ms, not in the times above; SortedKeys of its keys (sort + ` +
      `hashes, inside client.reconcile) ${n(r.sortedKeysMs)} ms once, cold, holding ` +
      `${n(r.sortedKeysMiB, 1)} MiB (heap and ArrayBuffers) while a reconciliation runs. Server RSS idle ` +
      `${n(r.serverIdleMiB)} MiB, peak over the whole run (VmHWM) ${n(r.serverPeakMiB)} MiB.`,
    "",
  );
  if (r.model.length > 0) {
    lines.push(
      `The client's bisection (default options) against a server played in memory, ${r.missingCount} missing:`,
      "",
      "| gateway keys | calls (digest / list, rounds) | largest request / response | bytes, all messages | gateway ms |",
      "| --: | --- | --: | --: | --: |",
    );
    for (const m of r.model) {
      lines.push(
        `| ${n(m.keys)} | ${1 + m.digestCalls + m.listCalls} (${m.digestCalls} / ${m.listCalls}, ` +
          `${m.rounds} rounds) | ${kib(m.maxRequestBytes)} / ${kib(m.maxResponseBytes)} | ` +
          `${kib(m.totalBytes)} | ${n(m.ms)} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}
