import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromJson, type JsonValue, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkSale, computeTotals } from "../../src/contract/index.js";

// The README's worked receipts (issue 11) are files a reader can send: each one valid by the
// server's rules, its totals exactly what computeTotals makes of its items, and
// examples/receipts.ndjson the same receipts, one per line.

const DIR = fileURLToPath(new URL("../../examples/receipts/", import.meta.url));
const NDJSON = fileURLToPath(new URL("../../examples/receipts.ndjson", import.meta.url));
const names = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();
const receipt = (name: string) =>
  fromJson(SaleSchema, JSON.parse(readFileSync(`${DIR}${name}`, "utf8")) as JsonValue);

describe("worked receipts", () => {
  it.each(names)("%s is valid and its totals are computeTotals'", (name) => {
    const sale = receipt(name);
    expect(
      checkSale(
        sale,
        { maxLineItems: 5000, maxFutureSkewSeconds: 300 },
        Date.parse("2026-12-10T00:00:00Z"),
      ),
    ).toEqual([]);
    const { $typeName: _, ...stated } = sale.totals ?? { $typeName: "" };
    expect(computeTotals(sale)).toEqual(stated);
  });

  it("examples/receipts.ndjson holds each receipt once", () => {
    const lines = readFileSync(NDJSON, "utf8").trim().split("\n");
    const fromLines = lines.map((l) =>
      toJsonString(SaleSchema, fromJson(SaleSchema, JSON.parse(l) as JsonValue)),
    );
    const fromFiles = names.map((n) => toJsonString(SaleSchema, receipt(n)));
    expect([...fromLines].sort()).toEqual([...fromFiles].sort());
  });
});
