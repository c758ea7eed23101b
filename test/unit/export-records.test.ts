import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  type CsvDialect,
  readCsvRecords,
  sniffDelimiter,
} from "../../src/cli/export/csv-records.js";
import { resolveMapping } from "../../src/cli/export/mapping-file.js";
import {
  type NdjsonProblem,
  type NdjsonRecord,
  ndjsonField,
  readNdjsonRecords,
} from "../../src/cli/export/ndjson-records.js";
import { readSales, type SaleLine } from "../../src/cli/sale-file.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function csv(chunks: string | string[], dialect: CsvDialect = {}, keepRaw = true) {
  const input = Readable.from(typeof chunks === "string" ? [chunks] : chunks);
  return collect(readCsvRecords(input, dialect, { maxRecordChars: 1 << 20, keepRaw }));
}

describe("readCsvRecords", () => {
  it.each([
    ["a;b;c", ";"],
    ["a\tb\tc", "\t"],
    ["a|b|c", "|"],
    ["a,b;c,d", ","],
    ["single", ","],
    // A delimiter inside a quoted column name is not counted.
    ['"a;b;c",d,e', ","],
  ])("sniffs the delimiter of %j as %j", (header, delimiter) => {
    expect(sniffDelimiter(header)).toBe(delimiter);
  });

  it("reads a ;-delimited and a TAB-delimited file with no dialect given", async () => {
    expect((await csv("a;b\n1;2,5\n")).map((r) => r.cells)).toEqual([
      ["a", "b"],
      ["1", "2,5"],
    ]);
    expect((await csv("a\tb\n1\t2,5\n")).map((r) => r.cells)).toEqual([
      ["a", "b"],
      ["1", "2,5"],
    ]);
  });

  it("uses a given delimiter and quote", async () => {
    expect((await csv("a|b\n1,5|x\n", { delimiter: "|" })).map((r) => r.cells)).toEqual([
      ["a", "b"],
      ["1,5", "x"],
    ]);
    expect((await csv("a,b\n'x, y','it''s'\n", { quote: "'" }))[1]?.cells).toEqual([
      "x, y",
      "it's",
    ]);
  });

  it("drops a byte-order mark, also when the header arrives in pieces", async () => {
    const records = await csv(["\uFEFFsk", "u,na", "me\n1,", "2\n"]);
    expect(records.map((r) => r.cells)).toEqual([
      ["sku", "name"],
      ["1", "2"],
    ]);
    expect(records[0]?.raw).toBe("sku,name");
  });

  it("keeps the raw text of CRLF records without their line ends", async () => {
    const records = await csv('a,b\r\n1,"x"\r\n3,4\r\n');
    expect(records.map((r) => [r.raw, r.line, r.lastLine, r.lineEnding])).toEqual([
      ["a,b", 1, 1, "\r\n"],
      ['1,"x"', 2, 2, "\r\n"],
      ["3,4", 3, 3, "\r\n"],
    ]);
    expect(records[1]?.cells).toEqual(["1", "x"]);
  });

  it("gives a quoted cell with a line break the two lines it spans", async () => {
    const records = await csv('a,b\n1,"two\nlines"\n3,4\n');
    expect(records.slice(1).map((r) => [r.cells, r.line, r.lastLine, r.raw])).toEqual([
      [["1", "two\nlines"], 2, 3, '1,"two\nlines"'],
      [["3", "4"], 4, 4, "3,4"],
    ]);
  });

  it("skips blank lines and numbers the records after them by their own lines", async () => {
    const records = await csv("a,b\n\n1,2\n\n\n3,4\n\n");
    expect(records.map((r) => [r.cells, r.line, r.lastLine, r.raw])).toEqual([
      [["a", "b"], 1, 1, "a,b"],
      [["1", "2"], 3, 3, "1,2"],
      [["3", "4"], 6, 6, "3,4"],
    ]);
  });

  it("numbers records after CRLF blank lines, and reads a last line without a line end", async () => {
    const records = await csv("a,b\r\n\r\n1,2\r\n\r\n3,4");
    expect(records.map((r) => [r.cells, r.line, r.raw])).toEqual([
      [["a", "b"], 1, "a,b"],
      [["1", "2"], 3, "1,2"],
      [["3", "4"], 5, "3,4"],
    ]);
  });

  it("keeps spaces around unquoted cells", async () => {
    const [, row] = await csv("sku,name\nA , WHITE HANGING HEART \n");
    expect(row?.cells).toEqual(["A ", " WHITE HANGING HEART "]);
  });

  it("leaves out the raw text unless asked for", async () => {
    const [header] = await csv("a,b\n", {}, false);
    expect(header).not.toHaveProperty("raw");
  });
});

function ndjson(text: string, items?: string) {
  const input = Readable.from([text]);
  return collect(readNdjsonRecords(input, { items, maxLineChars: 1 << 20, keepRaw: true }));
}

function records(rows: (NdjsonRecord | NdjsonProblem)[]): NdjsonRecord[] {
  return rows.map((r) => {
    if ("problem" in r) throw new Error(`line ${r.line}: ${r.problem}`);
    return r;
  });
}

describe("readNdjsonRecords", () => {
  it("makes each object one row, skipping blank lines and keeping each line's text", async () => {
    const rows = records(await ndjson('{"id":"a"}\n\n{"id":"b","n":null}\n'));
    expect(rows).toEqual([
      { object: { id: "a" }, line: 1, raw: '{"id":"a"}' },
      { object: { id: "b", n: null }, line: 3, raw: '{"id":"b","n":null}' },
    ]);
    expect(rows.map(ndjsonField("n"))).toEqual([undefined, ""]);
  });

  it("nests items: each item a row, its fields looked up in the item, then in the object", async () => {
    const line = '{"order":{"no":"7","lines":[{"sku":"A"},{"sku":"B","no":"x"}]},"store":"S"}';
    const rows = records(await ndjson(`${line}\n`, "order.lines"));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.line === 1 && r.raw === line)).toBe(true);
    expect(rows.map(ndjsonField("sku"))).toEqual(["A", "B"]);
    expect(rows.map(ndjsonField("store"))).toEqual(["S", "S"]);
    expect(rows.map(ndjsonField("order.no"))).toEqual(["7", "7"]);
    // The item's own field wins over the object's of the same (dotted) name.
    expect(rows.map(ndjsonField("no"))).toEqual([undefined, "x"]);
  });

  it("keeps numbers as written: a 20-digit id exactly, 12.10 with its zero", async () => {
    const [row] = records(await ndjson('{"id":12345678901234567890,"price":12.10,"q":-1e2}\n'));
    const r = row as NdjsonRecord;
    expect([ndjsonField("id")(r), ndjsonField("price")(r), ndjsonField("q")(r)]).toEqual([
      "12345678901234567890",
      "12.10",
      "-1e2",
    ]);
  });

  it("reports a line that is not JSON, not an object, or has no items, and goes on", async () => {
    const rows = await ndjson('{"a":\n[1]\n{"lines":[]}\n{"lines":[{"sku":"A"}]}\n', "lines");
    expect(rows).toMatchObject([
      { problem: expect.stringMatching(/^not JSON/), line: 1, raw: '{"a":' },
      { problem: "not a JSON object", line: 2 },
      { problem: "lines is not a non-empty array of objects", line: 3 },
      { item: { sku: "A" }, line: 4 },
    ]);
  });

  it("refuses an object or array where a single value is expected, naming the field", async () => {
    const [row] = records(await ndjson('{"sku":{"code":"A"},"tags":["x"]}\n'));
    expect(() => ndjsonField("sku")(row as NdjsonRecord)).toThrow(
      "sku: is an object or array, not a single value",
    );
    expect(() => ndjsonField("tags")(row as NdjsonRecord)).toThrow("tags: is an object or array");
  });
});

describe("readSales, NDJSON through a mapping", () => {
  const mapping = resolveMapping(
    {
      format: "ndjson",
      columns: {
        sale_id: "id",
        sku: "code",
        quantity: "qty",
        unit_price: "price",
        occurred_at: "at",
      },
      values: { source: "web", location_id: "L1", currency: "GBP" },
      tender: { type: "CARD" },
    },
    {},
    "web.json",
  );
  const read = (text: string): Promise<SaleLine[]> =>
    collect(readSales(Readable.from([text]), "ndjson", { mapping, keepRaw: true }));
  const row = (extra = "") =>
    `{"id":12345678901234567890,"code":"A","qty":1,"price":12.10,"at":"2024-05-01T10:00:00Z"${extra}}`;

  it("reads a flat object per row, the 20-digit id exactly", async () => {
    const [line] = await read(`${row()}\n`);
    expect(line).toMatchObject({
      kind: "sale",
      line: 1,
      sale: {
        saleId: "12345678901234567890",
        lineItems: [{ sku: "A", quantityMilli: 1000n, unitPriceMinor: 1210n }],
        payments: [{ amountMinor: 1210n }],
      },
    });
  });

  it("reads the items of each object, also when they are nested deeper (order.lines)", async () => {
    const nested = resolveMapping({ ...mapping, ndjson: { items: "order.lines" } }, {}, "web.json");
    const line =
      '{"id":"7","at":"2024-05-01T10:00:00Z","order":{"lines":[{"code":"A","qty":1,"price":1.5},{"code":"B","qty":2,"price":2}]}}';
    const lines = await collect(
      readSales(Readable.from([`${line}\n`]), "ndjson", { mapping: nested }),
    );
    expect(lines).toMatchObject([
      {
        kind: "sale",
        lines: [[1, 1]],
        sale: {
          saleId: "7",
          lineItems: [
            { sku: "A", unitPriceMinor: 150n },
            { sku: "B", quantityMilli: 2000n },
          ],
          totals: { totalMinor: 550n },
        },
      },
    ]);
  });

  it("refuses a whole object when one of its items cannot be read", async () => {
    const nested = resolveMapping({ ...mapping, ndjson: { items: "lines" } }, {}, "web.json");
    const line =
      '{"id":"7","at":"2024-05-01T10:00:00Z","lines":[{"code":"A","qty":1,"price":1.5},{"code":["B"],"qty":2,"price":2}]}';
    const lines = await collect(
      readSales(Readable.from([`${line}\n`]), "ndjson", { mapping: nested }),
    );
    expect(lines).toMatchObject([
      { kind: "error", rejection: { saleId: "7", violations: [{ field: "code", line: 1 }] } },
    ]);
  });

  it("refuses rows whose transaction cannot be named one by one, not as one transaction", async () => {
    const bad = `${row().replace('"id":12345678901234567890', '"id":{"no":1}')}\n`;
    const lines = await read(bad + bad);
    expect(lines.map((l) => [l.kind, l.line])).toEqual([
      ["error", 1],
      ["error", 2],
    ]);
  });

  it("refuses a row with a field the mapping does not read, naming it", async () => {
    const [line] = await read(`${row(',"coupon":"X"')}\n`);
    expect(line).toMatchObject({
      kind: "error",
      rejection: {
        reason: "unreadable",
        violations: [{ field: "row", description: expect.stringContaining("coupon"), line: 1 }],
      },
      raw: [row(',"coupon":"X"')],
    });
  });

  it("refuses a line that is not JSON and reads the next", async () => {
    const lines = await read(`not json\n${row()}\n`);
    expect(lines.map((l) => [l.kind, l.line])).toEqual([
      ["error", 1],
      ["sale", 2],
    ]);
    expect(lines[0]).toMatchObject({ rejection: { violations: [{ field: "line", line: 1 }] } });
  });

  it("refuses an object where a value is expected, naming the field and its source", async () => {
    const [line] = await read(`${row().replace('"code":"A"', '"code":{"x":1}')}\n`);
    expect(line).toMatchObject({
      kind: "error",
      rejection: {
        violations: [{ field: "code", description: expect.stringContaining("object") }],
      },
    });
  });
});
