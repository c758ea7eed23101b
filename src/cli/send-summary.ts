import {
  type LoadRejection,
  type RejectionCount,
  RejectionTally,
  rejectionMessage,
} from "./load-rejection.js";

/**
 * The outcome of `send` (or `send --dry-run`, which reads, maps and checks with the same rules
 * and reports the same way, sending nothing): the counts, every rejection counted by reason
 * and field, and the first rejections in file order with all their violations.
 */

/** The rejections of a load: all counted, the earliest `keep` listed. */
export class RejectionLog {
  readonly #keep: number;
  readonly #tally = new RejectionTally();
  #kept: LoadRejection[] = [];
  #count = 0;

  constructor(keep: number) {
    this.#keep = keep;
  }

  add(r: LoadRejection): void {
    this.#count++;
    this.#tally.add(r);
    this.#kept.push(r);
    // Streams complete out of order: keep the earliest lines, not the first to arrive.
    if (this.#kept.length > 2 * this.#keep + 100) this.#trim();
  }

  get count(): number {
    return this.#count;
  }

  /** Counted by reason and field, largest first. */
  counts(): RejectionCount[] {
    return this.#tally.counts();
  }

  /** The earliest `keep`, in line order. */
  listed(): LoadRejection[] {
    this.#trim();
    return this.#kept;
  }

  #trim(): void {
    this.#kept.sort((a, b) => a.line - b.line);
    if (this.#kept.length > this.#keep) this.#kept.length = this.#keep;
  }
}

/** What `send --json` prints. */
export interface SendSummary {
  readonly file: string;
  readonly server?: string;
  readonly dryRun: boolean;
  readonly complete: boolean;
  readonly error?: string;
  /** Transactions read (valid or not). */
  readonly sales: number;
  /** Stored now; in a dry run, would be sent. */
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Could not be read as the format or mapping says (and split transactions). */
  readonly unreadable: number;
  /** Refused by the contract's rules or by the server. */
  readonly refused: number;
  readonly resentStreams: number;
  readonly seconds: number;
  readonly salesPerSecond: number;
  readonly rejectsFile?: { readonly path: string; readonly rows: number };
  readonly byReason: readonly RejectionCount[];
  readonly rejections: readonly (LoadRejection & { readonly message: string })[];
}

/** The rejections as the summary lists them: each with its one-line message. */
export function listedRejections(log: RejectionLog): SendSummary["rejections"] {
  return log.listed().map((r) => ({ ...r, message: rejectionMessage(r) }));
}

/** The terminal form. */
export function humanSummary(s: SendSummary): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const width = n(s.sales).length;
  const row = (label: string, x: number, note = "") =>
    `  ${label.padEnd(10)}${n(x).padStart(width)}${note}\n`;
  const rate = `in ${s.seconds} s (${n(s.salesPerSecond)} sales/s)`;
  let out: string;
  if (!s.complete) {
    out = `INCOMPLETE: ${s.error}\n${n(s.sales)} sales ${s.dryRun ? "checked" : "answered"} before it stopped`;
    out += s.dryRun ? "\n" : "; rerun the same file: stored sales come back as duplicates\n";
  } else if (s.dryRun) {
    out = `DRY RUN, nothing sent: ${n(s.sales)} sales read from ${s.file} ${rate}\n`;
  } else {
    out = `${n(s.sales)} sales from ${s.file} to ${s.server} ${rate}\n`;
  }
  out += row(s.dryRun ? "valid" : "accepted", s.accepted, s.dryRun ? "  (would be sent)" : "");
  if (!s.dryRun) out += row("duplicate", s.duplicate);
  const parts = s.dryRun ? "refused by the rules" : "refused by the rules or the server";
  out += row(
    "rejected",
    s.rejected,
    s.rejected > 0 ? `  (${n(s.unreadable)} unreadable, ${n(s.refused)} ${parts})` : "",
  );
  if (s.resentStreams > 0) out += `  ${n(s.resentStreams)} stream(s) were resent after a failure\n`;
  if (s.byReason.length > 0) {
    out += "by reason and field:\n";
    const reasonWidth = Math.max(...s.byReason.map((c) => c.reason.length));
    const fields = s.byReason.map((c) => (c.column ? `${c.field} (${c.column})` : c.field || "-"));
    const fieldWidth = Math.max(...fields.map((f) => f.length));
    s.byReason.forEach((c, i) => {
      out += `  ${c.reason.padEnd(reasonWidth)}  ${(fields[i] ?? "").padEnd(fieldWidth)}  ${n(c.count).padStart(width)}\n`;
    });
  }
  if (s.rejections.length > 0) {
    out +=
      s.rejections.length < s.rejected
        ? `first ${s.rejections.length} rejections:\n`
        : "rejections:\n";
    for (const r of s.rejections) {
      const lines = r.lines.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ");
      const label = r.lines.length === 1 && r.lines[0]?.[0] === r.lines[0]?.[1] ? "line" : "lines";
      out += `  ${label} ${lines}: [${r.reason}] ${r.message}\n`;
    }
  }
  if (s.rejectsFile) {
    out += `${n(s.rejectsFile.rows)} refused row(s) written to ${s.rejectsFile.path}: fix them and send that file\n`;
  }
  return out;
}
