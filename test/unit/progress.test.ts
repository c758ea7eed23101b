import { PassThrough } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { createProgress, progressLine } from "../../src/cli/progress.js";

/** What starts a redraw: a new line, or the cursor sent to the first column (ESC [ n G). */
const REDRAW = new RegExp(`\r|\n|${String.fromCharCode(27)}\\[\\d*G`);

/** A terminal of a given width that keeps what is drawn on it. */
function terminal(columns: number) {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns });
  let written = "";
  stream.on("data", (chunk: Buffer) => {
    written += chunk.toString();
  });
  return {
    stream: stream as unknown as NodeJS.WriteStream,
    /** Each redraw of the line, without the cursor and colour escapes. */
    lines: () =>
      written
        .split(REDRAW)
        .map((l) => stripVTControlCharacters(l))
        .filter((l) => l.trim() !== ""),
  };
}

const large = { done: 1_234_567, accepted: 1_230_000, duplicate: 4_000, rejected: 567 };

describe("progress bar", () => {
  it.each([80, 60])("draws within a %i-column terminal, counts included", async (columns) => {
    const tty = terminal(columns);
    const total = 987_654_321;
    const bar = createProgress("bar", total, tty.stream);
    bar.update({ ...large, bytes: total - 1 });
    bar.stop();
    await new Promise((r) => setImmediate(r));
    const lines = tty.lines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length, line).toBeLessThan(columns);
    expect(lines.at(-1)).toContain("1,234,567 sales");
    expect(lines.at(-1)).toMatch(/567 rej/);
  });

  it("fits the widest realistic figures into 80 columns, every figure shown", () => {
    const line = progressLine({ ...large, fraction: 0.42, rate: 12_345, etaSeconds: 3_725 }, 80);
    expect(line.length, line).toBeLessThanOrEqual(79);
    for (const part of ["42%", "1,234,567 sales", "12,345/s", "ETA 1h02m", "567 rej"]) {
      expect(line).toContain(part);
    }
  });

  it("shortens the counts, then drops them, as the terminal narrows; never wider than it", () => {
    const view = { ...large, fraction: 0.5, rate: 12_345, etaSeconds: 75 };
    expect(progressLine(view, 120)).toContain("1,230,000 accepted, 4,000 duplicate, 567 rejected");
    for (let columns = 20; columns <= 120; columns++) {
      expect(progressLine(view, columns).length).toBeLessThan(columns);
    }
    expect(progressLine(view, 50)).not.toContain("accepted");
    expect(progressLine(view, 50)).toContain("ETA 1m15s");
  });
});
