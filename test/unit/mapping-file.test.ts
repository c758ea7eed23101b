import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hasMappingFlags,
  loadMappingFile,
  type MappingInput,
  resolveMapping,
} from "../../src/cli/export/mapping-file.js";

describe("mapping file", () => {
  // Cast: the cases are mappings as a file may hold them, which the type would refuse.
  it.each<[string, unknown, RegExp]>([
    [
      "a column for no field",
      { columns: { skux: "Code" } },
      /^m: columns\.skux: "skux" is not a field/,
    ],
    ["a value for no field", { values: { skux: "1" } }, /^m: values\.skux: "skux" is not a field/],
    [
      "a rule setting no field",
      { rules: [{ when: { field: "sku", equals: "x" }, set: { skux: "1" } }] },
      /^m: rules\.0\.set\.skux: "skux" is not a field/,
    ],
    [
      "a rule testing no field",
      { rules: [{ when: { field: "skux", equals: "x" }, set: {} }] },
      /^m: rules\.0\.when\.field: "skux" is not a field/,
    ],
    [
      "a bad regular expression",
      { rules: [{ when: { column: "A", matches: "(" }, set: { kind: "return" } }] },
      /^m: rules\.0\.when\.matches: is not a regular expression$/,
    ],
    [
      "both column and field in a condition",
      { rules: [{ when: { column: "A", field: "sku", equals: "x" }, set: {} }] },
      /^m: rules\.0\.when: names exactly one of column .* or field/,
    ],
    [
      "two tests in a condition",
      { rules: [{ when: { column: "A", equals: "x", empty: true }, set: {} }] },
      /^m: rules\.0\.when: has exactly one test/,
    ],
    ["an unknown top-level key", { colums: {} }, /^m: .*"colums"/],
    ["an unknown tender", { tender: { type: "BITCOIN" } }, /^m: tender\.type: /],
  ])("names the path of %s", (_, mapping, message) => {
    expect(() => resolveMapping(mapping as MappingInput, {}, "m")).toThrow(message);
  });

  it.each([
    ["a list", [1]],
    ["a text", "columns"],
  ])("refuses %s as a mapping", (_, file) => {
    expect(() => resolveMapping(file as MappingInput, {}, "m.yaml")).toThrow(
      "m.yaml: (mapping): expected an object",
    );
  });

  it("applies the flags over the file", () => {
    const file: MappingInput = {
      columns: { sku: "StockCode", name: "Description" },
      values: { currency: "USD" },
      time: { zone: "America/New_York", format: "M/d/yyyy H:mm" },
      csv: { quote: "'" },
      tender: { type: "CARD" },
    };
    const m = resolveMapping(
      file,
      {
        map: ["sku=Code", "sale_id={Till}-{No}"],
        set: ["currency=GBP"],
        timeZone: "Europe/London",
        delimiter: "tab",
        decimalComma: true,
        tender: "cash",
        groupWindow: 5,
      },
      "m",
    );
    expect(m.columns).toEqual({ sku: "Code", name: "Description", sale_id: "{Till}-{No}" });
    expect(m.values).toEqual({ currency: "GBP" });
    expect(m.time).toMatchObject({ zone: "Europe/London", format: "M/d/yyyy H:mm" });
    expect(m.csv).toEqual({ quote: "'", delimiter: "\t" });
    expect(m.numbers).toEqual({ decimal: ",", thousands: "" });
    expect(m.tender).toEqual({ type: "CASH" });
    expect(m.group).toEqual({ window: 5 });
    expect(resolveMapping({}, { delimiter: "\\t" }, "m").csv).toEqual({ delimiter: "\t" });
    expect(hasMappingFlags({})).toBe(false);
    expect(hasMappingFlags({ decimalComma: true })).toBe(true);
  });

  it("keeps an = inside a flag's value and refuses a flag without one", () => {
    expect(resolveMapping({}, { set: ["customer_name=a=b"] }, "m").values).toEqual({
      customer_name: "a=b",
    });
    expect(() => resolveMapping({}, { map: ["sku"] }, "m")).toThrow(
      "--map sku: expected field=value",
    );
    expect(() => resolveMapping({}, { set: ["=GBP"] }, "m")).toThrow("--set =GBP: expected");
  });

  describe("loadMappingFile", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mapping-"));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("reads YAML and JSON, and names the file it cannot parse", async () => {
      await writeFile(join(dir, "m.yaml"), "columns:\n  sku: StockCode\nignore: [Notes]\n");
      await writeFile(join(dir, "m.json"), '{"values": {"currency": "GBP"}}');
      await writeFile(join(dir, "bad.json"), '{"values": ');
      expect(await loadMappingFile(join(dir, "m.yaml"))).toEqual({
        columns: { sku: "StockCode" },
        ignore: ["Notes"],
      });
      expect(await loadMappingFile(join(dir, "m.json"))).toEqual({ values: { currency: "GBP" } });
      await expect(loadMappingFile(join(dir, "bad.json"))).rejects.toThrow(join(dir, "bad.json"));
    });
  });
});
