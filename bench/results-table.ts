import type { ResultRow } from "./context.js";

const HEADER = [
  "scenario",
  "throughput",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "errors",
  "CPU µs/op: server",
  "client",
  "Postgres",
  "÷ bare gRPC",
  "p99 ÷ bare",
  "÷ raw Postgres",
  "notes",
];

function ms(value: number | undefined): string {
  if (value === undefined) return "";
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

function us(value: number | undefined): string {
  return value === undefined ? "" : Math.round(value).toLocaleString("en");
}

function times(value: number | undefined): string {
  return value === undefined ? "" : `${value.toFixed(2)}×`;
}

function cells(row: ResultRow): string[] {
  const m = row.measurement;
  return [
    row.name,
    m ? `${Math.round(m.rate).toLocaleString("en")} ${m.unit}` : "",
    ms(m?.p50Ms),
    ms(m?.p95Ms),
    ms(m?.p99Ms),
    m ? String(m.errors) : "",
    us(m?.serverCpuUs),
    us(m?.clientCpuUs),
    us(m?.postgresCpuUs),
    times(row.vsTransport),
    times(row.p99VsTransport),
    times(row.vsStorage),
    row.note ?? "",
  ];
}

/**
 * The results as a Markdown table (readable on a terminal, pasted as is into bench/README.md):
 * one block per section, service figures as ratios of the ceilings measured in the same run.
 */
export function renderTable(rows: readonly ResultRow[]): string {
  const body: string[][] = [];
  let section = "";
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      body.push([`**${section}**`, ...HEADER.slice(1).map(() => "")]);
    }
    body.push(cells(row));
  }
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? "-".repeat(w) : `${"-".repeat(Math.max(1, w - 1))}:`)).join(" | ")} |`;
  return [line(HEADER), rule, ...body.map(line)].join("\n");
}
