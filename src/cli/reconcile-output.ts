import { TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { IngestManyResult, ReconcileAnswer } from "../client/index.js";
import { type FigureDifference, tenderTypeName, type ZReport } from "../contract/z-report.js";
import type { OutOfScope, ReconcileScope } from "./reconcile-figures.js";
import type { Findings } from "./reconcile-findings.js";

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
  /** Which of the file's transactions differ (from the key search). */
  readonly findings: Findings;
}

/** Transactions listed per kind of difference; the rest are counted (the JSON lists them all). */
const LISTED = 50;

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
 * table of the differing figures (figure, currency, tender type, file, server) and what to do
 * about them.
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
  const f = r.findings;
  if (f.match) {
    out.push(`match (${counted(a.calls, "call")})`);
    out.push(...rekeyedText(f));
    return `${out.join("\n")}\n`;
  }
  if (a.differences.every((d) => d.figure.startsWith("keys."))) {
    out.push("MISMATCH: every figure agrees, the transactions do not");
    out.push(...transactionsText(r));
    return `${out.join("\n")}\n`;
  }
  const shown = a.differences.filter((d) => d.figure !== "keys.digest").length;
  out.push(
    `MISMATCH: ${counted(shown, "figure")} differ${shown === 1 ? "s" : ""} (server snapshot ${a.snapshotAt.toISOString()})`,
  );
  const rows = [
    ["figure", "currency", "tender", "file", "server"],
    // The key digest's value means nothing to a reader; keys.count and the list below do.
    ...a.differences
      .filter((d) => d.figure !== "keys.digest")
      .map((d) => [d.figure, d.currency, tenderText(d), d.gateway.toString(), d.server.toString()]),
  ];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  for (const row of rows) {
    // Figures left-aligned, amounts right-aligned so their digits line up.
    const [figure = "", currency = "", tender = "", file = "", server = ""] = row;
    const w = (i: number) => widths[i] ?? 0;
    out.push(
      `  ${figure.padEnd(w(0))}  ${currency.padEnd(w(1))}  ${tender.padEnd(w(2))}  ${file.padStart(w(3))}  ${server.padStart(w(4))}`.trimEnd(),
    );
  }
  if (a.rowsWithoutLedger > 0n) {
    out.push(
      `${a.rowsWithoutLedger} stored row(s) of the scope have no ledger and are not in the server's sums: run \`pos-ingest backfill-ledger\``,
    );
  }
  out.push(...transactionsText(r));
  return `${out.join("\n")}\n`;
}

/** "CARD" for a tender figure's type ("7" for one this build does not know); "" otherwise. */
function tenderText(d: FigureDifference): string {
  if (d.tenderType === undefined) return "";
  return TenderType[d.tenderType] ?? String(d.tenderType);
}

/** Figures with each tender's type by its proto name, as protobuf JSON prints an enum. */
function namedTenders(figures: ZReport) {
  return {
    ...figures,
    tenders: figures.tenders.map((t) => ({ ...t, tenderType: tenderTypeName(t.tenderType) })),
  };
}

/** The missing, re-keyed and extra transactions, with their lines and what to do. */
function transactionsText(r: ReconcileReport): string[] {
  const f = r.findings;
  const found = r.answer.keyDifferences;
  const out: string[] = [];
  if (!found) {
    out.push(
      "The transactions are the same; their contents differ (a sale changed after it was sent?).",
    );
    return out;
  }
  out.push(`search: ${counted(found.rounds, "round")}, ${counted(r.answer.calls, "call")}`);
  found.trace.forEach((round, i) => {
    const did: string[] = [];
    if (round.digested > 0) {
      did.push(`${counted(round.digested, "key range")} digested, ${round.differing} differ`);
    }
    if (round.listed > 0) {
      did.push(
        `${counted(round.listed, "key range")} listed (${counted(round.listedKeys, "key")} of the file)`,
      );
    }
    out.push(`  round ${i + 1}: ${did.join("; ") || "nothing left to search"}`);
  });
  out.push(`missing on the server: ${counted(f.missing.length, "transaction")}`);
  const byLine = [...f.missing].sort((x, y) => firstLine(x.lines) - firstLine(y.lines));
  for (const m of byLine.slice(0, LISTED)) out.push(`  line ${m.lines}  ${m.key}`);
  if (byLine.length > LISTED) out.push(`  … and ${byLine.length - LISTED} more (--json lists all)`);
  out.push(...rekeyedText(f));
  if (f.extra.length > 0) {
    out.push(`on the server, not in the file: ${counted(f.extra.length, "transaction")}`);
    for (const e of f.extra.slice(0, LISTED)) out.push(`  ${e.key}  (sale id ${e.saleId})`);
    if (f.extra.length > LISTED)
      out.push(`  … and ${f.extra.length - LISTED} more (--json lists all)`);
  }
  if (f.truncated)
    out.push("The search stopped at its limit: more transactions differ than listed.");
  if (f.missing.length > 0) {
    out.push(
      "`--resend` sends the missing ones (exactly-once: nothing already stored is stored twice).",
    );
  }
  return out;
}

function rekeyedText(f: Findings): string[] {
  if (f.rekeyed.length === 0) return [];
  return [
    `stored under another key than the file's: ${counted(f.rekeyed.length, "transaction")} (not resent: that would store it twice)`,
    ...f.rekeyed
      .slice(0, LISTED)
      .map((k) => `  line ${k.lines}  ${k.key}  stored as ${k.storedAs}`),
  ];
}

function firstLine(lines: string): number {
  return Number.parseInt(lines, 10) || 0;
}

/** What `--resend` sent. */
export function humanResend(resent: IngestManyResult): string {
  const parts = [`${resent.accepted} accepted`, `${resent.duplicate} duplicate`];
  if (resent.rejected > 0) parts.push(`${resent.rejected} rejected`);
  return `resent ${counted(resent.received, "transaction")}: ${parts.join(", ")}\n`;
}

/**
 * The answer as one JSON object; amounts and counts as strings (int64, as protobuf JSON). With
 * `--resend`, what was resent and the second reconciliation's answer (`after`).
 */
export function jsonReconcile(
  r: ReconcileReport,
  resend?: { resent: IngestManyResult; after: ReconcileReport },
): string {
  const value = {
    ...jsonValue(r),
    ...(resend && {
      resent: {
        received: resend.resent.received,
        accepted: resend.resent.accepted,
        duplicate: resend.resent.duplicate,
        rejected: resend.resent.rejected,
      },
      after: jsonValue(resend.after),
    }),
  };
  return `${JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`;
}

function jsonValue(r: ReconcileReport) {
  const { scope, answer, findings } = r;
  return {
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
    match: findings.match,
    calls: answer.calls,
    differences: answer.differences.map((d) => ({
      figure: d.figure,
      currency: d.currency,
      ...(d.tenderType !== undefined && { tenderType: tenderTypeName(d.tenderType) }),
      file: d.gateway,
      server: d.server,
    })),
    rowsWithoutLedger: answer.rowsWithoutLedger,
    snapshotAt: answer.snapshotAt.toISOString(),
    missing: findings.missing,
    storedUnderOtherKey: findings.rekeyed,
    extra: findings.extra.map((e) => ({ key: e.key, source: e.source, saleId: e.saleId })),
    truncated: findings.truncated,
    figures: { file: namedTenders(r.figures), server: namedTenders(answer.server) },
  };
}
