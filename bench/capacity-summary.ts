import type { MeasuredCosts } from "./capacity-plan.js";
import type { ResultRow } from "./context.js";
import type { Measurement } from "./measurement.js";
import type { CapacityFigure, CapacityRound } from "./scenarios/capacity-rounds.js";

/** The median of each figure of one load over the rounds, taken figure by figure. */
export interface MedianFigure {
  readonly measurement: Measurement;
  readonly databaseCpuUs: number | undefined;
  readonly loadAverage: number | undefined;
}

/** The loads' medians. */
export interface CapacitySummary {
  readonly rounds: number;
  readonly bareUnary: MedianFigure;
  readonly unary: MedianFigure;
  readonly paced: MedianFigure | undefined;
  readonly bareStream: MedianFigure;
  readonly stream: MedianFigure;
}

/** The median of the defined values (the mean of the middle two for an even count). */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianOf(figures: readonly CapacityFigure[]): MedianFigure {
  const m = figures.map((f) => f.measurement);
  const of = (pick: (x: Measurement) => number | undefined) => median(m.map(pick));
  const first = m[0];
  if (!first) throw new Error("no rounds");
  return {
    measurement: {
      rate: of((x) => x.rate) ?? 0,
      unit: first.unit,
      p50Ms: of((x) => x.p50Ms),
      p95Ms: of((x) => x.p95Ms),
      p99Ms: of((x) => x.p99Ms),
      errors: m.reduce((sum, x) => sum + x.errors, 0),
      seconds: m.reduce((sum, x) => sum + x.seconds, 0),
      serverCpuUs: of((x) => x.serverCpuUs),
      clientCpuUs: of((x) => x.clientCpuUs),
      postgresCpuUs: of((x) => x.postgresCpuUs),
    },
    databaseCpuUs: median(figures.map((f) => f.databaseCpuUs)),
    loadAverage: median(figures.map((f) => f.loadAverage)),
  };
}

/** Medians over the rounds, each figure on its own (a median rate and a median CPU may come from different rounds). */
export function summarise(rounds: readonly CapacityRound[]): CapacitySummary {
  const paced = rounds.flatMap((r) => (r.paced ? [r.paced] : []));
  return {
    rounds: rounds.length,
    bareUnary: medianOf(rounds.map((r) => r.bareUnary)),
    unary: medianOf(rounds.map((r) => r.unary)),
    paced: paced.length > 0 ? medianOf(paced) : undefined,
    bareStream: medianOf(rounds.map((r) => r.bareStream)),
    stream: medianOf(rounds.map((r) => r.stream)),
  };
}

/**
 * The costs the plan uses, and why each: server CPU from the server process; Postgres CPU from
 * the bench database's own backends (other work on a shared PostgreSQL inflates the
 * machine-wide figure), falling back to the machine-wide one where /proc cannot tell. A call
 * costs the larger of its saturated and paced figures: below saturation fewer calls share each
 * group-commit INSERT, and a planned replica runs below saturation.
 */
export function costsFrom(s: CapacitySummary): { costs: MeasuredCosts; basis: string[] } {
  const need = (value: number | undefined, what: string) => {
    if (value === undefined) throw new Error(`no ${what} figure (needs Linux /proc)`);
    return value;
  };
  let machineWide = false;
  const postgres = (f: MedianFigure) => {
    if (f.databaseCpuUs !== undefined) return f.databaseCpuUs;
    machineWide = true;
    return need(f.measurement.postgresCpuUs, "Postgres CPU");
  };
  const calls = [s.unary, ...(s.paced ? [s.paced] : [])];
  const serverUsPerCall = Math.max(
    ...calls.map((f) => need(f.measurement.serverCpuUs, "server CPU")),
  );
  const postgresUsPerCall = Math.max(...calls.map(postgres));
  const postgresUsPerRecord = postgres(s.stream);
  const basis = [
    `medians of ${s.rounds} round${s.rounds === 1 ? "" : "s"}, each figure on its own`,
    machineWide
      ? "server: CPU of the server process; Postgres: CPU of every postgres process (the bench " +
        "database's backends could not be read), which counts other work on a shared server too"
      : "server: CPU of the server process; Postgres: CPU of the bench database's own backends " +
        "(background processes not included; the machine-wide figure, which also counts other " +
        "work on a shared server, is in the table)",
    s.paced
      ? "per call: the larger of the saturated and the paced figure (paced calls share " +
        "group-commit INSERTs less)"
      : "per call: the saturated figure (the paced load was skipped)",
  ];
  return {
    costs: {
      serverUsPerCall,
      serverUsPerRecord: need(s.stream.measurement.serverCpuUs, "server CPU"),
      postgresUsPerCall,
      postgresUsPerRecord,
    },
    basis,
  };
}

const us = (v: number | undefined) => (v === undefined ? "–" : Math.round(v).toLocaleString("en"));

/** Results-table rows (bench/results-table.ts): each round, then the medians. */
export function capacityRows(
  rounds: readonly CapacityRound[],
  s: CapacitySummary,
  labels: { unary: string; paced: string; stream: string },
): ResultRow[] {
  const rows: ResultRow[] = [];
  const add = (section: ResultRow["section"], name: string, f: CapacityFigure | MedianFigure) => {
    const load = f.loadAverage === undefined ? "" : `, load ${f.loadAverage.toFixed(1)}`;
    const db = section === "service" ? `bench db backends ${us(f.databaseCpuUs)} µs/op` : "";
    rows.push({
      section,
      name,
      measurement: f.measurement,
      note: `${db}${load}`.replace(/^, /, ""),
    });
  };
  const each = (
    section: ResultRow["section"],
    label: string,
    pick: (r: CapacityRound) => CapacityFigure | undefined,
    med: MedianFigure | undefined,
  ) => {
    rounds.forEach((r, i) => {
      const f = pick(r);
      if (f) add(section, `${label} #${i + 1}`, f);
    });
    if (med) add(section, `${label}, median`, med);
  };
  each("transport ceiling", `bare ${labels.unary}`, (r) => r.bareUnary, s.bareUnary);
  each("transport ceiling", `bare ${labels.stream}`, (r) => r.bareStream, s.bareStream);
  each("service", labels.unary, (r) => r.unary, s.unary);
  each("service", labels.paced, (r) => r.paced, s.paced);
  each("service", labels.stream, (r) => r.stream, s.stream);
  return rows;
}
