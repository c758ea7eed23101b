import { describe, expect, it } from "vitest";
import {
  type LoadRejection,
  linesText,
  MAX_VIOLATIONS,
  RejectionTally,
  rangesOf,
  rejection,
  rejectionMessage,
  type Violation,
} from "../../src/cli/load-rejection.js";
import {
  humanSummary,
  listedRejections,
  RejectionLog,
  type SendSummary,
} from "../../src/cli/send-summary.js";

const quantity = (line: number): Violation => ({
  field: "sale.line_items[0].quantity_milli",
  description: "must be positive",
  line,
});

describe("rangesOf and linesText", () => {
  it("merges spans in any order into sorted ranges of consecutive lines", () => {
    expect(
      rangesOf([
        [9, 9],
        [2, 2],
        [3, 4],
        [5, 5],
        [12, 14],
        [13, 13],
      ]),
    ).toEqual([
      [2, 5],
      [9, 9],
      [12, 14],
    ]);
    expect(rangesOf([])).toEqual([]);
  });

  it("writes ranges as a person reads them", () => {
    expect(
      linesText([
        [12, 12],
        [14, 16],
      ]),
    ).toBe("12, 14–16");
  });
});

describe("rejection and rejectionMessage", () => {
  it("caps the violations listed and counts the rest", () => {
    const all = Array.from({ length: MAX_VIOLATIONS + 7 }, (_, i) => quantity(i + 2));
    const r = rejection("invalid_argument", [[2, 58]], all, "s1");
    expect(r).toMatchObject({ line: 2, saleId: "s1", moreViolations: 7 });
    expect(r.violations).toHaveLength(MAX_VIOLATIONS);
    expect(rejectionMessage(r)).toBe(
      `sale.line_items[0].quantity_milli: must be positive (and ${MAX_VIOLATIONS + 6} more)`,
    );
  });

  it("names the source column and a line other than the first", () => {
    const v = { field: "total", description: "too many decimals", line: 5, column: "Total" };
    const r = rejection("unreadable", [[3, 5]], [v], "");
    expect(r).not.toHaveProperty("saleId");
    expect(rejectionMessage(r)).toBe("total (column Total): too many decimals at line 5");
    expect(rejectionMessage(rejection("malformed", [[3, 3]], []))).toBe("malformed");
  });
});

describe("RejectionTally", () => {
  it("counts each rejection once per reason, field (indices dropped) and column, largest first", () => {
    const tally = new RejectionTally();
    const twoLines = [
      { ...quantity(2), field: "sale.line_items[0].quantity_milli" },
      { ...quantity(3), field: "sale.line_items[1].quantity_milli" },
    ];
    tally.add(rejection("invalid_argument", [[2, 3]], twoLines));
    tally.add(rejection("invalid_argument", [[4, 4]], [quantity(4)]));
    tally.add(
      rejection("unreadable", [[5, 5]], [{ field: "total", description: "x", column: "T" }]),
    );
    tally.add(rejection("idempotency_conflict", [[6, 6]], []));
    expect(tally.counts()).toEqual([
      { reason: "invalid_argument", field: "sale.line_items[].quantity_milli", count: 2 },
      { reason: "idempotency_conflict", field: "", count: 1 },
      { reason: "unreadable", field: "total", column: "T", count: 1 },
    ]);
  });
});

describe("RejectionLog", () => {
  it("lists the earliest N in line order however they arrive, and counts them all", () => {
    const log = new RejectionLog(3);
    // Streams answer out of order: a descending-then-shuffled arrival far past the trim point.
    const lines = Array.from({ length: 1000 }, (_, i) => 1000 - i).sort(
      (a, b) => ((a * 7919) % 1009) - ((b * 7919) % 1009),
    );
    for (const line of lines)
      log.add(rejection("invalid_argument", [[line, line]], [quantity(line)]));
    expect(log.count).toBe(1000);
    expect(log.listed().map((r) => r.line)).toEqual([1, 2, 3]);
    expect(log.counts()).toEqual([
      { reason: "invalid_argument", field: "sale.line_items[].quantity_milli", count: 1000 },
    ]);
    expect(listedRejections(log)[0]?.message).toBe(
      "sale.line_items[0].quantity_milli: must be positive",
    );
  });
});

describe("humanSummary", () => {
  const listed: LoadRejection[] = [
    rejection("unreadable", [[7, 7]], [{ field: "total", description: "bad", column: "Total" }]),
    rejection(
      "split_sale",
      [
        [9, 9],
        [20, 21],
      ],
      [{ field: "sale_id", description: "split" }],
    ),
  ];
  const summary: SendSummary = {
    file: "export.csv",
    dryRun: true,
    complete: true,
    sales: 1200,
    accepted: 1195,
    duplicate: 0,
    rejected: 5,
    unreadable: 2,
    refused: 3,
    resentStreams: 0,
    seconds: 1.5,
    salesPerSecond: 800,
    byReason: [
      { reason: "invalid_argument", field: "sale.line_items[].quantity_milli", count: 3 },
      { reason: "unreadable", field: "total", column: "Total", count: 1 },
      { reason: "split_sale", field: "sale_id", count: 1 },
    ],
    rejections: listed.map((r) => ({ ...r, message: rejectionMessage(r) })),
  };

  it("shows the counts, the breakdown by reason and field, and the first rejections", () => {
    const out = humanSummary(summary);
    expect(out).toContain("DRY RUN, nothing sent: 1,200 sales read from export.csv");
    expect(out).toContain("(2 unreadable, 3 refused by the rules)");
    expect(out.split("\n")).toEqual(
      expect.arrayContaining([
        "by reason and field:",
        "  invalid_argument  sale.line_items[].quantity_milli      3",
        "  unreadable        total (Total)                         1",
        "  split_sale        sale_id                               1",
        "first 2 rejections:",
        "  line 7: [unreadable] total (column Total): bad",
        "  lines 9, 20–21: [split_sale] sale_id: split",
      ]),
    );
    expect(out.indexOf("by reason and field:")).toBeLessThan(out.indexOf("first 2 rejections:"));
  });

  it("shows no breakdown when nothing was rejected", () => {
    const out = humanSummary({ ...summary, rejected: 0, byReason: [], rejections: [] });
    expect(out).not.toContain("by reason");
    expect(out).not.toContain("rejections");
  });
});
