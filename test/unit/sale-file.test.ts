import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readLines } from "../../src/cli/lines.js";
import { readSales, type SaleLine } from "../../src/cli/sale-file.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("readLines", () => {
  it("splits across chunks, strips CRLF, keeps a last line without a newline", async () => {
    const lines = await collect(readLines(Readable.from(["ab", "c\r\nde\n", "\nf"]), 100));
    expect(lines).toEqual([
      { text: "abc", line: 1, tooLong: false },
      { text: "de", line: 2, tooLong: false },
      { text: "", line: 3, tooLong: false },
      { text: "f", line: 4, tooLong: false },
    ]);
  });

  it("reports an over-long line and skips to its end without holding it", async () => {
    const chunks = [
      "ok\n",
      "x".repeat(60),
      "x".repeat(60),
      "x".repeat(60),
      "\nnext\n",
      "y".repeat(300),
    ];
    const lines = await collect(readLines(Readable.from(chunks), 100));
    expect(lines).toEqual([
      { text: "ok", line: 1, tooLong: false },
      { text: "", line: 2, tooLong: true },
      { text: "next", line: 3, tooLong: false },
      { text: "", line: 4, tooLong: true },
    ]);
  });
});

describe("readSales (NDJSON)", () => {
  it("ignores a byte-order mark and blank lines, and names bad lines", async () => {
    const sale = JSON.stringify({ saleId: "s1", locationId: "L", source: "pos" });
    const items = await collect(
      readSales(Readable.from([`\uFEFF${sale}\n\n[1,2\n${sale}\n`]), "ndjson"),
    );
    expect(items.map((i: SaleLine) => [i.kind, i.line])).toEqual([
      ["sale", 1],
      ["error", 3],
      ["sale", 4],
    ]);
  });
});
