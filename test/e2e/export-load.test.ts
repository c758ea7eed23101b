import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, equals } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { runCli } from "../support/cli.js";
import { type ExportRow, retailExport, toCsv } from "../support/retail-export.js";
import { BAD_CELLS, badRetailExport } from "../support/retail-export-bad.js";
import {
  type ExpectedInvoice,
  expectedInvoices,
  lineRanges,
} from "../support/retail-export-expected.js";
import { startTestServer, type TestServer } from "../support/server.js";
import {
  expectedView,
  type StoredSale,
  storedSales,
  storedView,
} from "../support/stored-export.js";

// Issue 12: a retailer's export loads as it is, with a mapping file and no converter.

const MAPPING = "examples/exports/online-retail.mapping.yaml";
const SEMICOLON_MAPPING = "examples/exports/online-retail-semicolon.mapping.yaml";
const SEED = 7;
const INVOICES = 150;
const VALUES = { source: "online-retail", registerId: "web", currency: "GBP" };

interface Violation {
  field: string;
  column?: string;
  line?: number;
  description: string;
}
interface Rejection {
  reason: string;
  line: number;
  lines: [number, number][];
  saleId?: string;
  violations: Violation[];
  message: string;
}
interface Summary {
  file: string;
  dryRun: boolean;
  complete: boolean;
  sales: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  unreadable: number;
  refused: number;
  byReason: { reason: string; field?: string; column?: string; count: number }[];
  rejections: Rejection[];
}

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  dir = mkdtempSync(join(tmpdir(), "pos-ingest-export-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `pos-ingest send FILE --mapping …` run from the compiled CLI as a user would. */
async function send(file: string, mapping: string, locationId: string, extra: string[] = []) {
  const args = ["send", file, "--mapping", mapping, "--set", `location_id=${locationId}`];
  return runCli([...args, "--progress", "none", ...extra], {
    POS_INGEST_SERVER: server.baseUrl,
    POS_INGEST_API_KEY: server.keys.acme,
  });
}

/** The `--json` summary of a run; a run that printed none fails with what it printed. */
function summaryOf(run: { code: number; stdout: string; stderr: string }): Summary {
  try {
    return JSON.parse(run.stdout) as Summary;
  } catch {
    throw new Error(`exit ${run.code}, no JSON summary:\n${run.stdout}\n${run.stderr}`);
  }
}

function writeFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const stored = (locationId: string) =>
  storedSales(server.databaseUrl as string, "acme", locationId);

/** Every invoice is stored under the location exactly as the expected model says, and no other. */
function expectStored(
  sales: Map<string, StoredSale>,
  rows: readonly ExportRow[],
  locationId: string,
): void {
  const invoices = expectedInvoices(rows);
  expect([...sales.keys()].sort()).toEqual(invoices.map((i) => i.saleId).sort());
  for (const invoice of invoices) {
    const sale = sales.get(invoice.saleId) as StoredSale;
    expect(storedView(sale), invoice.saleId).toEqual(
      expectedView(invoice, { ...VALUES, locationId }),
    );
  }
}

const rows = retailExport({ seed: SEED, invoices: INVOICES });

describe("pos-ingest send --mapping, the Online Retail export", () => {
  it("loads the comma export as written: every stored sale decodes to the source values", async () => {
    const file = writeFile(
      "online-retail.csv",
      toCsv(rows, { delimiter: ",", decimalComma: false }),
    );
    const first = await send(file, MAPPING, "e2e-comma", ["--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first)).toMatchObject({
      dryRun: false,
      complete: true,
      sales: INVOICES,
      accepted: INVOICES,
      duplicate: 0,
      rejected: 0,
      byReason: [],
      rejections: [],
    });
    expectStored(await stored("e2e-comma"), rows, "e2e-comma");

    const again = await send(file, MAPPING, "e2e-comma", ["--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again)).toMatchObject({ accepted: 0, duplicate: INVOICES, rejected: 0 });
    expect((await stored("e2e-comma")).size).toBe(INVOICES);
  });

  it("loads the semicolon/decimal-comma variant (CRLF, BOM) to the same sales", async () => {
    const text = toCsv(rows, { delimiter: ";", decimalComma: true, crlf: true, bom: true });
    const file = writeFile("online-retail-semicolon.csv", text);
    const res = await send(file, SEMICOLON_MAPPING, "e2e-semicolon", ["--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(summaryOf(res)).toMatchObject({ sales: INVOICES, accepted: INVOICES, rejected: 0 });
    const semicolon = await stored("e2e-semicolon");
    expectStored(semicolon, rows, "e2e-semicolon");
    // The same sales as the comma file's load (the test before), field for field.
    const comma = await stored("e2e-comma");
    expect(comma.size).toBe(INVOICES);
    for (const [saleId, s] of semicolon) {
      const c = comma.get(saleId)?.sale;
      expect(c, saleId).toBeDefined();
      const relocated = clone(SaleSchema, c as Sale);
      relocated.locationId = "e2e-semicolon";
      expect(equals(SaleSchema, s.sale, relocated), saleId).toBe(true);
    }
  });

  it("dry run and load give one summary; the rejects file reloads once fixed", async () => {
    const { rows: bad, broken } = badRetailExport({ seed: SEED, invoices: INVOICES });
    const csv = toCsv(bad, { delimiter: ",", decimalComma: false });
    const file = writeFile("bad.csv", csv);
    const rejectsFile = join(dir, "rejects.csv");
    const window = ["--group-window", "50"];
    const dryRun = await send(file, MAPPING, "e2e-bad", ["--dry-run", "--json", ...window]);
    expect(dryRun.code, dryRun.stderr).toBe(1);
    expect((await stored("e2e-bad")).size).toBe(0);
    const load = await send(file, MAPPING, "e2e-bad", [
      "--json",
      "--rejects",
      rejectsFile,
      ...window,
    ]);
    expect(load.code, load.stderr).toBe(1);
    const dry = summaryOf(dryRun);
    const real = summaryOf(load);
    expect(dry).toMatchObject({ dryRun: true, complete: true, duplicate: 0 });
    expect(real).toMatchObject({ dryRun: false, complete: true, duplicate: 0, rejected: 4 });
    const same = (s: Summary) => ({
      sales: s.sales,
      accepted: s.accepted,
      rejected: s.rejected,
      byReason: s.byReason,
      rejections: s.rejections,
    });
    expect(same(dry)).toEqual(same(real));
    expect(real.sales).toBe(real.accepted + real.rejected);

    const linesOf = (id: string) => bad.flatMap((r, i) => (r.invoiceNo === id ? [i + 2] : []));
    expect(real.rejections.map((r) => r.saleId).sort()).toEqual(
      [broken.skippedTime, broken.price, broken.quantity, broken.farSplit].sort(),
    );
    const rejection = (id: string) => real.rejections.find((r) => r.saleId === id) as Rejection;
    const cellErrors = [
      [broken.skippedTime, "occurred_at", "InvoiceDate", undefined],
      [broken.price, "unit_price", "UnitPrice", linesOf(broken.price)[1]],
      [broken.quantity, "quantity", "Quantity", linesOf(broken.quantity)[1]],
    ] as const;
    for (const [id, field, column, badLine] of cellErrors) {
      const lines = linesOf(id);
      const r = rejection(id);
      expect(r, id).toMatchObject({
        reason: "unreadable",
        line: lines[0],
        lines: lineRanges(lines),
      });
      expect(r.violations.length, id).toBeGreaterThan(0);
      for (const v of r.violations) {
        expect(v, id).toMatchObject({ field, column });
        expect(lines, id).toContain(v.line);
      }
      if (badLine !== undefined) expect(r.violations.map((v) => v.line)).toEqual([badLine]);
    }
    // Both parts named, so a person sees why the invoice cannot be one sale in this window: the
    // late rows refused (`lines`) and those sent before them (`sentLines`).
    const splitLines = linesOf(broken.farSplit);
    const splitRanges = lineRanges(splitLines);
    expect(splitRanges).toHaveLength(2);
    expect(rejection(broken.farSplit)).toMatchObject({
      reason: "split_sale",
      lines: [splitRanges[1]],
      sentLines: [splitRanges[0]],
    });
    expect(real.byReason).toHaveLength(4);
    expect(real.byReason).toEqual(
      expect.arrayContaining([
        { reason: "unreadable", field: "occurred_at", column: "InvoiceDate", count: 1 },
        { reason: "unreadable", field: "unit_price", column: "UnitPrice", count: 1 },
        { reason: "unreadable", field: "quantity", column: "Quantity", count: 1 },
        expect.objectContaining({ reason: "split_sale", count: 1 }),
      ]),
    );

    // Stored: every invoice but the broken ones, exactly. A window-bound reader may have sent the
    // far split's first part before its last row came; if it did, that part is all it stored.
    const sales = await stored("e2e-bad");
    const splitStored = sales.get(broken.farSplit);
    const tail = splitRanges[1] as [number, number];
    const firstPart = bad.filter((r, i) => r.invoiceNo === broken.farSplit && i + 2 < tail[0]);
    if (splitStored) {
      const [part] = expectedInvoices(firstPart);
      expect(storedView(splitStored)).toEqual(
        expectedView(part as ExpectedInvoice, { ...VALUES, locationId: "e2e-bad" }),
      );
      sales.delete(broken.farSplit);
    }
    const brokenIds = new Set(real.rejections.map((r) => r.saleId));
    expectStored(
      sales,
      bad.filter((r) => !brokenIds.has(r.invoiceNo)),
      "e2e-bad",
    );
    expect(real.accepted).toBe(INVOICES - 4 + (splitStored ? 1 : 0));

    // The rejects file: the header and the refused rows, as written in the source.
    const source = csv.split("\n");
    const refused = [
      ...cellErrors.flatMap(([id]) => linesOf(id)),
      ...splitLines.filter((l) => !splitStored || l >= tail[0]),
    ].sort((a, b) => a - b);
    const rejects = readFileSync(rejectsFile, "utf8").replace(/\n$/, "").split("\n");
    expect(rejects).toEqual([source[0], ...refused.map((l) => source[l - 1])]);

    // Fixed by hand: the three bad cells corrected; the split cannot be fixed by a reload of
    // its rows alone (the stored part, if any, would conflict), so its rows are left out.
    const fix = (line: string) =>
      line
        .replace(BAD_CELLS.skippedTime.bad, BAD_CELLS.skippedTime.fixed)
        .replace(`,${BAD_CELLS.price.bad},`, `,${BAD_CELLS.price.fixed},`)
        .replace(`,${BAD_CELLS.quantity.bad},`, `,${BAD_CELLS.quantity.fixed},`);
    const fixedLines = [
      rejects[0] as string,
      ...rejects
        .slice(1)
        .filter((l) => !l.startsWith(`${broken.farSplit},`))
        .map(fix),
    ];
    const fixedFile = writeFile("fixed.csv", `${fixedLines.join("\n")}\n`);
    const reload = await send(fixedFile, MAPPING, "e2e-bad", ["--json"]);
    expect(reload.code, reload.stderr).toBe(0);
    expect(summaryOf(reload)).toMatchObject({ sales: 3, accepted: 3, rejected: 0 });
    const fixedRows = bad
      .filter((r) => cellErrors.some(([id]) => id === r.invoiceNo))
      .map((r) => ({
        ...r,
        invoiceDate:
          r.invoiceDate === BAD_CELLS.skippedTime.bad ? BAD_CELLS.skippedTime.fixed : r.invoiceDate,
        unitPrice: r.unitPrice === BAD_CELLS.price.bad ? BAD_CELLS.price.fixed : r.unitPrice,
        quantity: r.quantity === BAD_CELLS.quantity.bad ? BAD_CELLS.quantity.fixed : r.quantity,
      }));
    const after = await stored("e2e-bad");
    for (const invoice of expectedInvoices(fixedRows)) {
      const sale = after.get(invoice.saleId);
      expect(sale, invoice.saleId).toBeDefined();
      expect(storedView(sale as StoredSale)).toEqual(
        expectedView(invoice, { ...VALUES, locationId: "e2e-bad" }),
      );
    }
  });

  it("prints the rejections by reason and field with their counts", async () => {
    const { rows: bad } = badRetailExport({ seed: SEED, invoices: INVOICES });
    const file = writeFile("bad-terminal.csv", toCsv(bad, { delimiter: ",", decimalComma: false }));
    const window = ["--group-window", "50"];
    const json = summaryOf(
      await send(file, MAPPING, "e2e-terminal", ["--dry-run", "--json", ...window]),
    );
    const res = await send(file, MAPPING, "e2e-terminal", window);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/by reason and field/i);
    const breakdown = res.stdout.slice(res.stdout.search(/by reason and field/i)).split("\n");
    expect(json.byReason.length).toBeGreaterThan(0);
    // Each group on a line of its own with its count: the field's line, or the reason's if the
    // group has no field (split_sale); how reasons and fields nest is the CLI's choice.
    const word = (w: string) => new RegExp(`(^|[^\\w.])${w}($|[^\\w.])`);
    for (const entry of json.byReason) {
      expect(
        breakdown.some((l) => word(entry.reason).test(l)),
        entry.reason,
      ).toBe(true);
      const key = entry.field ?? entry.reason;
      const line = breakdown.find((l) => word(key).test(l) && word(String(entry.count)).test(l));
      expect(line, `a line with ${key} and ${entry.count} in:\n${res.stdout}`).toBeDefined();
    }
  });
});
