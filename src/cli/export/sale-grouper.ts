import type { Row } from "../csv-columns.js";
import { type LineRange, rangesOf, type Violation } from "../load-rejection.js";

/**
 * Rows to transactions when a transaction's rows need not be consecutive: a transaction stays
 * open until `window` rows of others have been read since its last row, so an invoice split
 * across a file (as ERP exports merging two runs write it) is still one transaction, in memory
 * bounded by the window. A row of a transaction already closed is not sent as a second,
 * conflicting transaction under the same key: its rows become a `split` group naming the lines
 * the first part was read from.
 */

/** The rows of one transaction, as read. */
export interface RowGroup {
  readonly key: string;
  readonly rows: Row[];
  /** The lines of its rows, merged into ranges as they are read (so in order). */
  readonly spans: [number, number][];
  readonly raws: string[];
  /** Rows that could not be read: the transaction is refused, listing them all. */
  readonly problems: Violation[];
  /** Set when this is the late part of a transaction closed before: the earlier parts' lines. */
  readonly splitFrom: readonly LineRange[] | undefined;
  /** The ordinal of its last row: the window closes it when it falls behind. */
  last: number;
}

/** One row for a transaction: read (`row`) or not (`problem`), its lines and text as written. */
export interface GroupItem {
  readonly row?: Row | undefined;
  readonly span: LineRange;
  readonly raw?: string | undefined;
  readonly problem?: Violation | undefined;
}

const NONE: RowGroup[] = [];
/** Most transactions whose lines are remembered after closing, to name them in a split. */
const MAX_CLOSED_REMEMBERED = 1_000_000;

export class SaleGrouper {
  readonly #window: number;
  readonly #open = new Map<string, RowGroup>();
  /**
   * Closed transactions' keys with their lines, oldest first; as text ("12-14,20"), the most
   * compact form a million of them can take.
   */
  readonly #closed = new Map<string, string>();
  #count = 0;
  /** The transaction of the last row read, while it is open. */
  #current: RowGroup | undefined;

  /** `window`: rows read after a transaction's last row before it is closed (1: consecutive). */
  constructor(window: number) {
    this.#window = window;
  }

  /**
   * Adds a row (or, with `problem`, a row that could not be read) of the transaction `key`;
   * returns the transactions this closes, in the order their last rows were read.
   */
  add(key: string, item: GroupItem): RowGroup[] {
    this.#count++;
    // The common case, a sorted file: the row continues the transaction of the row before. It
    // closes nothing now; the next row of another transaction closes what fell behind meanwhile.
    const current = this.#current;
    if (current !== undefined && key === current.key) {
      this.#append(current, item);
      return NONE;
    }
    let group = this.#open.get(key);
    if (!group) {
      const before = this.#closed.get(key);
      group = {
        key,
        rows: [],
        spans: [],
        raws: [],
        problems: [],
        splitFrom: before === undefined ? undefined : parseRanges(before),
        last: 0,
      };
      this.#open.set(key, group);
    } else {
      // Map order is the order of last use; re-inserting moves it behind the others.
      this.#open.delete(key);
      this.#open.set(key, group);
    }
    this.#current = group;
    this.#append(group, item);
    return this.#closeBehind(this.#count - this.#window);
  }

  #append(group: RowGroup, item: GroupItem): void {
    group.last = this.#count;
    const last = group.spans[group.spans.length - 1];
    if (last && item.span[0] <= last[1] + 1) last[1] = Math.max(last[1], item.span[1]);
    else group.spans.push([item.span[0], item.span[1]]);
    if (item.raw !== undefined) group.raws.push(item.raw);
    if (item.problem) group.problems.push(item.problem);
    else if (item.row) group.rows.push(item.row);
  }

  /** The transactions still open, at the end of the file. */
  end(): RowGroup[] {
    return this.#closeBehind(Number.POSITIVE_INFINITY);
  }

  #closeBehind(ordinal: number): RowGroup[] {
    // Most rows close nothing: the oldest open transaction is first in the map.
    const oldest: RowGroup | undefined = this.#open.values().next().value;
    if (oldest === undefined || oldest.last > ordinal) return NONE;
    const closed: RowGroup[] = [];
    for (const group of this.#open.values()) {
      if (group.last > ordinal) break;
      this.#open.delete(group.key);
      if (this.#current === group) this.#current = undefined;
      this.#remember(group);
      closed.push(group);
    }
    return closed;
  }

  #remember(group: RowGroup): void {
    const before = this.#closed.get(group.key);
    if (before === undefined) {
      const [first, ...more] = group.spans;
      // Nearly always one range: its text without building arrays.
      this.#closed.set(
        group.key,
        first && more.length === 0 ? rangeText(first) : group.spans.map(rangeText).join(","),
      );
      if (this.#closed.size > MAX_CLOSED_REMEMBERED) {
        const oldest = this.#closed.keys().next().value;
        if (oldest !== undefined) this.#closed.delete(oldest);
      }
      return;
    }
    this.#closed.delete(group.key);
    const ranges = rangesOf([...parseRanges(before), ...group.spans]);
    this.#closed.set(group.key, ranges.map(rangeText).join(","));
  }
}

function parseRanges(text: string): LineRange[] {
  return text.split(",").map((part) => {
    const [a = "0", b = a] = part.split("-");
    return [Number(a), Number(b)] as const;
  });
}

function rangeText([a, b]: LineRange): string {
  return a === b ? `${a}` : `${a}-${b}`;
}
