/**
 * What `send` says about a transaction it did not store: a reason code, every violation with
 * its field (and the source column and line when a cell could not be read), and the lines its
 * rows came from, so that thousands of refusals can be sorted by cause without parsing English.
 */

/**
 * Why a transaction was not stored. `unreadable`: a cell or line could not be read as the
 * format (or mapping) says; `split_sale`: more rows of a transaction already sent turned up
 * beyond the grouping window; the others are the contract's rules (`invalid_argument`, checked
 * before sending with the server's own rules, or by the server) and the server's answers.
 */
export type RejectionReason =
  | "unreadable"
  | "split_sale"
  | "invalid_argument"
  | "idempotency_conflict"
  | "original_conflict"
  | "malformed";

/** One thing wrong with a transaction. */
export interface Violation {
  /** A contract path ("sale.line_items[2].quantity_milli") or, unreadable, the file's field. */
  readonly field: string;
  readonly description: string;
  /** The line of the row it is on, when it is one row's. */
  readonly line?: number;
  /** The export's column that fed `field`, when a mapping renamed it. */
  readonly column?: string;
}

/** First and last line (1-based, inclusive) of consecutive rows. */
export type LineRange = readonly [number, number];

export interface LoadRejection {
  readonly reason: RejectionReason;
  /** The first line of the transaction's first row. */
  readonly line: number;
  readonly lines: readonly LineRange[];
  readonly saleId?: string;
  readonly violations: readonly Violation[];
  /** Violations beyond those listed (a 5,000-line transaction with every line bad). */
  readonly moreViolations?: number;
  /** `split_sale`: the lines of the transaction's rows that were sent before these. */
  readonly sentLines?: readonly LineRange[];
}

/** Most violations one rejection lists. */
export const MAX_VIOLATIONS = 50;

/** A rejection with its violations capped at MAX_VIOLATIONS. */
export function rejection(
  reason: RejectionReason,
  lines: readonly LineRange[],
  violations: readonly Violation[],
  saleId?: string,
): LoadRejection {
  const more = violations.length - MAX_VIOLATIONS;
  return {
    reason,
    line: lines[0]?.[0] ?? 0,
    lines,
    ...(saleId !== undefined && saleId !== "" && { saleId }),
    violations: more > 0 ? violations.slice(0, MAX_VIOLATIONS) : violations,
    ...(more > 0 && { moreViolations: more }),
  };
}

/** The one-line form: the first violation, and how many more. */
export function rejectionMessage(r: LoadRejection): string {
  const [first] = r.violations;
  if (!first) return r.reason;
  const column = first.column ? ` (column ${first.column})` : "";
  const at = first.line !== undefined && first.line !== r.line ? ` at line ${first.line}` : "";
  const more = r.violations.length - 1 + (r.moreViolations ?? 0);
  const rest = more > 0 ? ` (and ${more} more)` : "";
  return `${first.field}${column}: ${first.description}${at}${rest}`;
}

/** "12", "12–14", "12–14, 90" */
export function linesText(lines: readonly LineRange[]): string {
  return lines.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ");
}

/** Merges row spans (in any order) into sorted ranges of consecutive lines. */
export function rangesOf(spans: readonly LineRange[]): LineRange[] {
  const sorted = [...spans].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** One row of the summary's breakdown: how many transactions a reason and field refused. */
export interface RejectionCount {
  readonly reason: RejectionReason;
  /** The field with indices dropped ("sale.line_items[].quantity_milli"). */
  readonly field: string;
  readonly column?: string;
  readonly count: number;
}

/** Counts every rejection by reason and field (all of them, not only those listed). */
export class RejectionTally {
  readonly #counts = new Map<string, RejectionCount>();

  add(r: LoadRejection): void {
    const seen = new Set<string>();
    const fields = r.violations.length > 0 ? r.violations : [{ field: "", description: "" }];
    for (const v of fields) {
      const field = v.field.replace(/\[\d+\]/g, "[]");
      const id = `${r.reason}\u0000${field}\u0000${v.column ?? ""}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const now = this.#counts.get(id);
      this.#counts.set(id, {
        reason: r.reason,
        field,
        ...(v.column !== undefined && { column: v.column }),
        count: (now?.count ?? 0) + 1,
      });
    }
  }

  /** Largest first; ties by reason and field. */
  counts(): RejectionCount[] {
    return [...this.#counts.values()].sort(
      (a, b) =>
        b.count - a.count || a.reason.localeCompare(b.reason) || a.field.localeCompare(b.field),
    );
  }
}
