import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSales } from "../../src/cli/gen-sales.js";
import { runCli } from "../support/cli.js";
import { query } from "../support/database.js";
import { DAILY_COLUMNS, type DailyRow, expectedDaily } from "../support/ledger-sales.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The end-to-end check of the sale model v2: a file of every kind of transaction, as
// gen-sales writes it in NDJSON and in CSV, loads through `pos-ingest send` with nothing refused,
// and net_sales_daily then says, per location, currency and business day, exactly what the
// generator's own transactions sum to by ledger().

const run = promisify(execFile);
const COUNT = 3_000;
const END = "2026-12-01T00:00:00Z";
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  dir = mkdtempSync(join(tmpdir(), "pos-ingest-mix-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the compiled CLI against the test server as `apiKey`'s tenant. */
function cli(args: string[], apiKey: string) {
  return runCli(args, { POS_INGEST_SERVER: server.baseUrl, POS_INGEST_API_KEY: apiKey });
}

async function daily(tenant: string): Promise<DailyRow[]> {
  return query<DailyRow>(
    server.databaseUrl as string,
    `select ${DAILY_COLUMNS} from net_sales_daily where tenant_id = $1
     order by location_id collate "C", currency collate "C", business_day`,
    [tenant],
  );
}

describe("a generated mix of every kind of transaction", () => {
  it.each([
    ["ndjson", "acme", 21],
    ["csv", "globex", 22],
  ] as const)(
    "loads from %s with nothing refused, and the daily view sums its ledger",
    async (format, tenant, seed) => {
      const file = join(dir, `mix.${format}`);
      await run(process.execPath, [
        "dist/src/cli/main.js",
        "gen-sales",
        ...["--count", String(COUNT), "--seed", String(seed), "--end", END, "--format", format],
        ...["--out", file],
      ]);
      const sent = await cli(["send", file, "--json", "--progress", "none"], server.keys[tenant]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(JSON.parse(sent.stdout)).toMatchObject({
        complete: true,
        sales: COUNT,
        accepted: COUNT,
        rejected: 0,
      });
      const generated = [...generateSales(COUNT, seed, new Date(END))];
      // What the file holds: returns, exchanges and post-voids among the sales.
      expect(new Set(generated.map((s) => s.kind)).size).toBe(4);
      const rows = await daily(tenant);
      expect(rows.every((r) => r.rows_without_ledger === "0")).toBe(true);
      expect(rows).toEqual(expectedDaily(generated));
    },
  );
});
