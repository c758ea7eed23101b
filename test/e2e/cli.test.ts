import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toJsonString } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { runCli } from "../support/cli.js";
import { query } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
let server: TestServer;
let dir: string;

interface Summary {
  complete: boolean;
  sales: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  unreadable: number;
  refused: number;
  rejections: { line: number; message: string }[];
  byReason: { reason: string; field: string; column?: string; count: number }[];
}

/** Runs the compiled CLI as a user would, against the test server. */
function cli(args: string[], env: Record<string, string> = {}, stdin?: string) {
  return runCli(args, { POS_INGEST_SERVER: server.baseUrl, ...env }, stdin);
}

const CSV_HEADER =
  "source,location_id,register_id,sale_id,occurred_at,currency,sku,name,quantity,unit_price_minor,payments";
const CSV_ROW = (saleId: string) =>
  `acme-pos,csv-2,till-1,${saleId},2026-11-01T10:00:00Z,EUR,SKU-1,Espresso,1,250,CARD:250`;

const send = (file: string, extra: string[] = [], stdin?: string) =>
  cli(
    ["send", file, "--json", "--progress", "lines", ...extra],
    {
      POS_INGEST_API_KEY: server.keys.acme,
    },
    stdin,
  );

async function storedFor(saleIdPrefix: string): Promise<number> {
  const rows = await query<{ n: string }>(
    server.databaseUrl as string,
    "select count(*) as n from sales where tenant_id = 'acme' and starts_with(sale_id, $1)",
    [saleIdPrefix],
  );
  return Number(rows[0]?.n);
}

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  dir = mkdtempSync(join(tmpdir(), "pos-ingest-cli-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("pos-ingest send", () => {
  it("loads a 50,000-line file: the summary matches the database, bad lines named by number", async () => {
    const file = join(dir, "backlog.ndjson");
    // --seed 11: sale ids are "<store>-11-<n>", apart from every other test's.
    const gen = await run(process.execPath, [
      "dist/src/cli/main.js",
      "gen-sales",
      "--count",
      "50000",
      "--seed",
      "11",
      "--out",
      file,
    ]);
    expect(gen.stderr).toContain("wrote 50000 sales");
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(50_000);
    // Three bad lines: not JSON, an unknown field, and a sale the server refuses.
    lines[99] = "{ this is not json";
    lines[24_999] = lines[24_999]?.replace('"saleId"', '"saleNumber"') ?? "";
    const refused = JSON.parse(lines[44_999] ?? "") as { currency: string };
    refused.currency = "XXQ";
    lines[44_999] = JSON.stringify(refused);
    writeFileSync(file, `${lines.join("\n")}\n`);

    const first = await send(file);
    expect(first.code).toBe(1);
    const summary = JSON.parse(first.stdout) as Summary;
    expect(summary).toMatchObject({
      complete: true,
      sales: 50_000,
      accepted: 49_997,
      duplicate: 0,
      rejected: 3,
      unreadable: 2,
      refused: 1,
    });
    expect(summary.rejections.map((r) => r.line)).toEqual([100, 25_000, 45_000]);
    expect(summary.rejections[1]?.message).toMatch(/saleNumber/);
    expect(summary.rejections[2]?.message).toMatch(/^sale\.currency: /);
    expect(await storedFor("store-")).toBe(49_997);
    // Lines mode: sales answered, share of the file read, rate; the last line at 100%.
    expect(first.stderr).toMatch(/\d+ sales \(\d+%\), \d+\/s: \d+ accepted/);
    expect(first.stderr).toMatch(
      /50000 sales \(100%\), \d+\/s: 49997 accepted, 0 duplicate, 3 rejected\n$/,
    );

    // Rerunning the whole file stores nothing twice.
    const again = JSON.parse((await send(file)).stdout) as Summary;
    expect(again).toMatchObject({ accepted: 0, duplicate: 49_997, rejected: 3 });
    expect(await storedFor("store-")).toBe(49_997);
  }, 180_000);

  it("reads CSV, one row per line item, and reports a bad row by its line", async () => {
    const header =
      "source,location_id,register_id,sale_id,occurred_at,currency,sku,name,quantity,unit_price_minor,line_tax_minor,payments";
    const csv = [
      header,
      // Two rows, one sale; totals are computed: 2 x 250 + 0.5 x 320 = 660, tax 40 + 10.
      "acme-pos,csv-1,till-1,csvsale-1,2026-11-01T10:00:00Z,EUR,SKU-1,Espresso,2,250,40,CARD:710",
      "acme-pos,csv-1,till-1,csvsale-1,2026-11-01T10:00:00Z,EUR,SKU-2,Cheese (kg),0.5,320,10,CARD:710",
      "acme-pos,csv-1,till-1,csvsale-2,2026-11-01T10:05:00Z,EUR,SKU-1,Espresso,1.2345,250,0,CASH:250",
      'acme-pos,csv-1,till-2,csvsale-3,2026-11-01T10:06:00Z,EUR,SKU-1,"Espresso, double",1,250,0,CASH:200;CARD:50',
      "",
      // A bad second row (line 7) rejects its whole sale, reported at that row.
      "acme-pos,csv-1,till-1,csvsale-4,2026-11-01T10:07:00+01:00,EUR,SKU-1,Espresso,1,250,0,CARD:500",
      "acme-pos,csv-1,till-1,csvsale-4,2026-11-01T10:07:00+01:00,EUR,SKU-2,Espresso,1,250,0",
      // No offset: local time would differ between machines, so it is refused.
      "acme-pos,csv-1,till-1,csvsale-5,2026-11-01T10:08:00,EUR,SKU-1,Espresso,1,250,0,CARD:250",
      "acme-pos,csv-1,till-1,csvsale-6,2026-11-01T10:09:00Z,EUR,SKU-1,Espresso,1,99999999999999999999,0,CARD:250",
    ].join("\n");
    const file = join(dir, "sales.csv");
    writeFileSync(file, csv);
    const res = await send(file);
    const summary = JSON.parse(res.stdout) as Summary;
    expect(res.code).toBe(1);
    expect(summary).toMatchObject({ sales: 6, accepted: 2, rejected: 4, unreadable: 4 });
    // Each rejection: its reason, the lines of all its rows, every violation with its field
    // and the line of the row it is on.
    const row = (line: number, field: string, description: RegExp) => ({
      field,
      line,
      description: expect.stringMatching(description),
    });
    expect(summary.rejections).toEqual([
      {
        reason: "unreadable",
        line: 4,
        lines: [[4, 4]],
        saleId: "csvsale-2",
        violations: [row(4, "quantity", /^"1.2345" is not a number/)],
        message: expect.stringMatching(/^quantity: "1.2345"/),
      },
      {
        reason: "unreadable",
        line: 7,
        lines: [[7, 8]],
        saleId: "csvsale-4",
        violations: [row(8, "row", /^has 11 fields; the header has 12$/)],
        message: "row: has 11 fields; the header has 12 at line 8",
      },
      expect.objectContaining({
        line: 9,
        violations: [row(9, "occurred_at", / with an offset/)],
      }),
      expect.objectContaining({
        line: 10,
        violations: [row(10, "unit_price_minor", /not a 64-bit integer/)],
      }),
    ]);
    expect(summary.byReason).toEqual([
      { reason: "unreadable", field: "occurred_at", count: 1 },
      { reason: "unreadable", field: "quantity", count: 1 },
      { reason: "unreadable", field: "row", count: 1 },
      { reason: "unreadable", field: "unit_price_minor", count: 1 },
    ]);
    const [stored] = await query<{ total_minor: string }>(
      server.databaseUrl as string,
      "select total_minor::text from sales where sale_id = 'csvsale-1'",
    );
    expect(stored?.total_minor).toBe("710");
  });

  it.each([
    [
      "an unknown column",
      "source,location_id,sale_id,occurred_at,currency,sku,quantity,unit_price_minor,payments,line_tax\n",
      1,
      /unknown column\(s\) line_tax/,
    ],
    [
      "an open quote",
      `${CSV_HEADER}\n${CSV_ROW("q-1")}\n${CSV_ROW("q-2")}\n"acme-pos,csv-2,till-1,q-3\n${CSV_ROW("q-4")}\n`,
      4,
      /unreadable CSV after line 3/,
    ],
  ])("stops at %s and says the load is INCOMPLETE (exit 2)", async (_what, csv, line, message) => {
    const file = join(dir, "fatal.csv");
    writeFileSync(file, csv);
    const res = await send(file);
    expect(res.code).toBe(2);
    const summary = JSON.parse(res.stdout) as Summary & { error: string };
    expect(summary.complete).toBe(false);
    expect(summary.error).toMatch(new RegExp(`^line ${line}: `));
    expect(summary.error).toMatch(message);
  });

  it("reads a pipe given as a path (no total, read once)", async () => {
    const file = join(dir, "piped.csv");
    writeFileSync(file, `${CSV_HEADER}\n${CSV_ROW("pipe-1")}\n`);
    // A shell pipe: the CLI sees a FIFO at /dev/stdin, which can be read only once.
    const res = await run(
      "sh",
      [
        "-c",
        `cat "${file}" | "${process.execPath}" dist/src/cli/main.js send /dev/stdin --format csv --json --progress none`,
      ],
      {
        env: {
          ...process.env,
          POS_INGEST_SERVER: server.baseUrl,
          POS_INGEST_API_KEY: server.keys.acme,
        },
      },
    );
    expect(JSON.parse(res.stdout)).toMatchObject({ sales: 1, accepted: 1 });
  });

  it("reads stdin with -, and prints a readable summary", async () => {
    const sale = create(SaleSchema, {
      saleId: "stdin-1",
      locationId: "L1",
      registerId: "R1",
      source: "acme-pos",
      occurredAt: { seconds: 1_790_000_000n },
      currency: "EUR",
      lineItems: [{ sku: "A", name: "A", quantityMilli: 1000n, unitPriceMinor: 100n }],
      payments: [{ tenderType: 1, amountMinor: 100n }],
      totals: { subtotalMinor: 100n, totalMinor: 100n },
    });
    const res = await cli(
      ["send", "-", "--progress", "none"],
      { POS_INGEST_API_KEY: server.keys.acme },
      `${toJsonString(SaleSchema, sale)}\n\n`,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^1 sales from - to http:\/\/127\.0\.0\.1:\d+ in /);
    expect(res.stdout).toMatch(/accepted\s+1\n\s+duplicate\s+0\n\s+rejected\s+0/);
  });

  it("sends batch messages by default, one sale a message with --records-per-message 1", async () => {
    const handled = async (method: string) => {
      const { values } = await server.app.metrics.grpcHandled.get();
      return (
        values.find((v) => v.labels.grpc_method === method && v.labels.grpc_code === "OK")?.value ??
        0
      );
    };
    const generate = async (seed: string, count: string) => {
      const file = join(dir, `seed-${seed}.ndjson`);
      const args = ["gen-sales", "--count", count, "--seed", seed, "--out", file];
      await run(process.execPath, ["dist/src/cli/main.js", ...args]);
      return file;
    };
    const counts = async () => [await handled("IngestBatchStream"), await handled("IngestStream")];
    const [batch0, single0] = (await counts()) as [number, number];
    const batched = await send(await generate("12", "1200"));
    expect(batched.code).toBe(0);
    expect(JSON.parse(batched.stdout)).toMatchObject({
      complete: true,
      sales: 1_200,
      accepted: 1_200,
    });
    // Two streams (1,000 and 200 sales), both IngestBatchStream.
    expect(await counts()).toEqual([batch0 + 2, single0]);

    const single = await send(await generate("13", "30"), ["--records-per-message", "1"]);
    expect(JSON.parse(single.stdout)).toMatchObject({ complete: true, sales: 30, accepted: 30 });
    expect(await counts()).toEqual([batch0 + 2, single0 + 1]);
    expect((await cli(["send", "--help"])).stdout).toMatch(/--records-per-message <n>/);
  });

  it("exits 2 with an incomplete summary when the key is refused", async () => {
    const file = join(dir, "one.ndjson");
    writeFileSync(file, readFileSync(join(dir, "backlog.ndjson"), "utf8").split("\n")[0] ?? "");
    const res = await cli(["send", file, "--progress", "none"], { POS_INGEST_API_KEY: "pik_bad" });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/^INCOMPLETE: Unauthenticated/);
  });
});

describe("pos-ingest health", () => {
  it("exits 0 for SERVING, 2 when the check fails, and prints the status", async () => {
    const ok = await cli(["health", "readiness"]);
    expect(ok).toMatchObject({ code: 0, stdout: "SERVING\n" });
    const unknown = await cli(["health", "no-such-service"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/NotFound/);
    const down = await cli(["health", "--server", "http://127.0.0.1:1", "--timeout", "1000"]);
    expect(down.code).toBe(2);
  });

  it("refuses a bad flag with usage help", async () => {
    const res = await cli(["send", "x.ndjson", "--stream-size", "5000"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/stream-size.*1 to 1000/);
  });
});

describe("npm run cli, keys, migrate", () => {
  it("build incrementally: an unchanged tree is checked, not recompiled", async () => {
    const scripts = (
      JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ["cli", "keys", "migrate"]) {
      expect(scripts[name], name).toMatch(
        /^npm run build --silent && node dist\/src\/cli\/main\.js/,
      );
    }
    // The suite's setup built the tree; tsc's build mode decides from its build info alone.
    const { stdout } = await run("npm", ["run", "-s", "build", "--", "--verbose"]);
    expect(stdout).toMatch(/Project 'tsconfig\.build\.json' is up to date/);
  });
});
