import { describe, expect, it } from "vitest";
import { type RowGroup, SaleGrouper } from "../../src/cli/export/sale-grouper.js";

/** Adds rows of the given keys, row i on line i + 2 (after a header); returns what closed. */
function feed(grouper: SaleGrouper, keys: string[]): RowGroup[] {
  const closed: RowGroup[] = [];
  keys.forEach((key, i) => {
    const line = i + 2;
    closed.push(
      ...grouper.add(key, { row: { sale_id: key, sku: `s${line}` }, span: [line, line] }),
    );
  });
  return [...closed, ...grouper.end()];
}

const summary = (groups: RowGroup[]) =>
  groups.map((g) => ({
    key: g.key,
    skus: g.rows.map((r) => r.sku),
    ...(g.splitFrom !== undefined && { splitFrom: g.splitFrom }),
  }));

describe("SaleGrouper", () => {
  it("with window 1 groups consecutive rows only: a row after others starts a split", () => {
    const groups = feed(new SaleGrouper(1), ["A", "A", "B", "A"]);
    expect(summary(groups)).toEqual([
      { key: "A", skus: ["s2", "s3"] },
      { key: "B", skus: ["s4"] },
      { key: "A", skus: ["s5"], splitFrom: [[2, 3]] },
    ]);
  });

  it("groups one invoice's rows 3 rows apart within a window of 5", () => {
    const groups = feed(new SaleGrouper(5), ["A", "B", "C", "A", "B"]);
    expect(summary(groups)).toEqual([
      { key: "C", skus: ["s4"] },
      { key: "A", skus: ["s2", "s5"] },
      { key: "B", skus: ["s3", "s6"] },
    ]);
    expect(groups[1]?.spans).toEqual([
      [2, 2],
      [5, 5],
    ]);
  });

  it("closes a transaction once `window` rows of others follow it, not before", () => {
    const grouper = new SaleGrouper(2);
    expect(grouper.add("A", { row: {}, span: [2, 2] })).toEqual([]);
    expect(grouper.add("B", { row: {}, span: [3, 3] })).toEqual([]);
    expect(grouper.add("C", { row: {}, span: [4, 4] }).map((g) => g.key)).toEqual(["A"]);
  });

  it("makes rows beyond the window a split group naming the earlier parts' lines", () => {
    const keys = ["A", "A", "B", "C", "D", "A", "E", "F", "G", "A"];
    const groups = feed(new SaleGrouper(3), keys);
    const parts = groups.filter((g) => g.key === "A");
    expect(summary(parts)).toEqual([
      { key: "A", skus: ["s2", "s3"] },
      { key: "A", skus: ["s7"], splitFrom: [[2, 3]] },
      // A third part names both earlier ones.
      {
        key: "A",
        skus: ["s11"],
        splitFrom: [
          [2, 3],
          [7, 7],
        ],
      },
    ]);
    expect(groups.map((g) => g.rows.length).reduce((a, b) => a + b)).toBe(keys.length);
  });

  it("keeps rows that could not be read, and their raw text, with their transaction", () => {
    const grouper = new SaleGrouper(10);
    grouper.add("A", { row: { sku: "x" }, span: [2, 2], raw: "A,x" });
    const problem = { field: "quantity", description: "not a number", line: 3 };
    grouper.add("A", { problem, span: [3, 4], raw: 'A,"y\nz"' });
    const [group] = grouper.end();
    expect(group).toMatchObject({
      rows: [{ sku: "x" }],
      problems: [problem],
      // Consecutive rows' lines are merged as they are read.
      spans: [[2, 4]],
      raws: ["A,x", 'A,"y\nz"'],
    });
  });

  it("holds no more than window + 1 transactions open over 100,000 distinct keys", () => {
    const window = 10;
    const grouper = new SaleGrouper(window);
    let returned = 0;
    let mostOpen = 0;
    for (let i = 0; i < 100_000; i++) {
      returned += grouper.add(`k${i}`, { row: {}, span: [i + 2, i + 2] }).length;
      mostOpen = Math.max(mostOpen, i + 1 - returned);
    }
    const rest = grouper.end().length;
    expect(mostOpen).toBeLessThanOrEqual(window + 1);
    expect(rest).toBeLessThanOrEqual(window + 1);
    expect(returned + rest).toBe(100_000);
  });
});
