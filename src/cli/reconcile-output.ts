import type { ReconcileAnswer } from "../client/index.js";
import type { ZReport } from "../contract/z-report.js";
import type { OutOfScope, ReconcileScope } from "./reconcile-figures.js";

/** Everything `pos-ingest reconcile` prints: the file's side, the scope and the server's answer. */
export interface ReconcileReport {
  readonly file: string;
  readonly server: string;
  readonly scope: ReconcileScope;
  /** Transactions of the file in the scope (the figures are theirs). */
  readonly transactions: number;
  /** Transactions of the file outside the scope, by why. */
  readonly leftOut: Readonly<Record<OutOfScope, number>>;
  /** The file's figures, as sent. */
  readonly figures: ZReport;
  readonly answer: ReconcileAnswer;
}

const LEFT_OUT_NAMES: Readonly<Record<OutOfScope, string>> = {
  location: "other locations",
  register: "other registers",
  period: "other days or times",
};

/** "1 transaction", "2 transactions". */
function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** "recon-store, register till-1, business day 2026-11-30". */
function scopeText(scope: ReconcileScope): string {
  const parts = [scope.locationId];
  if (scope.registerId !== undefined) parts.push(`register ${scope.registerId}`);
  if (scope.businessDay !== undefined) parts.push(`business day ${scope.businessDay}`);
  if (scope.occurred) {
    const { from, to } = scope.occurred;
    parts.push(`occurred from ${from.toISOString()} to ${to.toISOString()}`);
  }
  return parts.join(", ");
}

/**
 * The answer for a person: the scope and what was left out of the file, then "match", or a
 * table of the differing figures (figure, currency, file, server) and what to do about them.
 */
export function humanReconcile(r: ReconcileReport): string {
  const out: string[] = [];
  const left = (Object.keys(LEFT_OUT_NAMES) as OutOfScope[])
    .filter((k) => r.leftOut[k] > 0)
    .map((k) => `${r.leftOut[k]} of ${LEFT_OUT_NAMES[k]}`);
  const leftCount = r.leftOut.location + r.leftOut.register + r.leftOut.period;
  out.push(
    `${scopeText(r.scope)}: ${counted(r.transactions, "transaction")} in ${r.file}` +
      (leftCount > 0 ? ` (${leftCount} left out: ${left.join(", ")})` : ""),
  );
  const a = r.answer;
  if (a.match) {
    out.push("match");
    return `${out.join("\n")}\n`;
  }
  out.push(
    `MISMATCH: ${counted(a.differences.length, "figure")} differ${a.differences.length === 1 ? "s" : ""} (server snapshot ${a.snapshotAt.toISOString()})`,
  );
  const rows = [
    ["figure", "currency", "file", "server"],
    ...a.differences.map((d) => [d.figure, d.currency, d.gateway.toString(), d.server.toString()]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  for (const row of rows) {
    // Figures left-aligned, amounts right-aligned so their digits line up.
    const [figure = "", currency = "", file = "", server = ""] = row;
    const w = (i: number) => widths[i] ?? 0;
    out.push(
      `  ${figure.padEnd(w(0))}  ${currency.padEnd(w(1))}  ${file.padStart(w(2))}  ${server.padStart(w(3))}`.trimEnd(),
    );
  }
  if (a.rowsWithoutLedger > 0n) {
    out.push(
      `${a.rowsWithoutLedger} stored row(s) of the scope have no ledger and are not in the server's sums: run \`pos-ingest backfill-ledger\``,
    );
  }
  out.push(
    "Which transactions differ is not found in this version: `pos-ingest send` of the same file sends what is missing and stores nothing twice.",
  );
  return `${out.join("\n")}\n`;
}

/** The answer as one JSON object; amounts and counts as strings (int64, as protobuf JSON). */
export function jsonReconcile(r: ReconcileReport): string {
  const { scope, answer } = r;
  const value = {
    file: r.file,
    server: r.server,
    scope: {
      locationId: scope.locationId,
      ...(scope.registerId !== undefined && { registerId: scope.registerId }),
      ...(scope.businessDay !== undefined && { businessDay: scope.businessDay }),
      ...(scope.occurred && {
        occurred: { from: scope.occurred.from.toISOString(), to: scope.occurred.to.toISOString() },
      }),
    },
    transactions: r.transactions,
    leftOut: r.leftOut,
    match: answer.match,
    differences: answer.differences.map((d) => ({
      figure: d.figure,
      currency: d.currency,
      file: d.gateway,
      server: d.server,
    })),
    rowsWithoutLedger: answer.rowsWithoutLedger,
    snapshotAt: answer.snapshotAt.toISOString(),
    figures: { file: r.figures, server: answer.server },
  };
  return `${JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`;
}
