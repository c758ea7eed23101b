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
  readonly spans: LineRange[];
  readonly raws: string[];
  /** Rows that could not be read: the transaction is refused, listing them all. */
  readonly problems: Violation[];
  /** Set when this is the late part of a transaction closed before: the earlier parts' lines. */
  readonly splitFrom?: readonly LineRange[];
  /** The ordinal of its last row: the window closes it when it falls behind. */
  last: number;
}

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
  #lastKey: string | undefined;

  /** `window`: rows read after a transaction's last row before it is closed (1: consecutive). */
  constructor(window: number) {
    this.#window = window;
  }

  /**
   * Adds a row (or, with `problem`, a row that could not be read) of the transaction `key`;
   * returns the transactions this closes, in the order their last rows were read.
   */
  add(
    key: string,
    item: { row?: Row; span: LineRange; raw?: string | undefined; problem?: Violation },
  ): RowGroup[] {
    this.#count++;
    let group = this.#open.get(key);
    if (!group) {
      const before = this.#closed.get(key);
      group = {
        key,
        rows: [],
        spans: [],
        raws: [],
        problems: [],
        ...(before !== undefined && { splitFrom: parseRanges(before) }),
        last: 0,
      };
      this.#open.set(key, group);
    } else if (key !== this.#lastKey) {
      // Map order is the order of last use; re-inserting moves it behind the others.
      this.#open.delete(key);
      this.#open.set(key, group);
    }
    this.#lastKey = key;
    group.last = this.#count;
    group.spans.push(item.span);
    if (item.raw !== undefined) group.raws.push(item.raw);
    if (item.problem) group.problems.push(item.problem);
    else if (item.row) group.rows.push(item.row);
    return this.#closeBehind(this.#count - this.#window);
  }

  /** The transactions still open, at the end of the file. */
  end(): RowGroup[] {
    return this.#closeBehind(Number.POSITIVE_INFINITY);
  }

  #closeBehind(ordinal: number): RowGroup[] {
    const closed: RowGroup[] = [];
    for (const group of this.#open.values()) {
      if (group.last > ordinal) break;
      this.#open.delete(group.key);
      if (this.#lastKey === group.key) this.#lastKey = undefined;
      this.#remember(group);
      closed.push(group);
    }
    return closed;
  }

  #remember(group: RowGroup): void {
    const before = this.#closed.get(group.key);
    const ranges = rangesOf([...(before ? parseRanges(before) : []), ...group.spans]);
    this.#closed.delete(group.key);
    this.#closed.set(group.key, ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(","));
    if (this.#closed.size > MAX_CLOSED_REMEMBERED) {
      const oldest = this.#closed.keys().next().value;
      if (oldest !== undefined) this.#closed.delete(oldest);
    }
  }
}

function parseRanges(text: string): LineRange[] {
  return text.split(",").map((part) => {
    const [a = "0", b = a] = part.split("-");
    return [Number(a), Number(b)] as const;
  });
}
