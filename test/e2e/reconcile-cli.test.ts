import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { runCli } from "../support/cli.js";
import { makeSale } from "../support/fixtures.js";
import { chicagoStore } from "../support/receipts-v2.js";
import { at, DAY, STORE, theDay } from "../support/reconcile-day.js";
import { startTestServer, type TestServer } from "../support/server.js";

// `pos-ingest reconcile` as a user runs it, against a real server on Postgres: the store's day of
// support/reconcile-day.ts written to a file and loaded with `send`; the till's own file holds two
// Chicago sales more that never reached the server (the README's worked example).

let server: TestServer;
let dir: string;
let sentFile: string;
let tillFile: string;

const ndjson = (sales: readonly Sale[]) =>
  `${sales.map((s) => toJsonString(SaleSchema, s)).join("\n")}\n`;

function cli(args: string[]) {
  return runCli(args, { POS_INGEST_SERVER: server.baseUrl, POS_INGEST_API_KEY: server.keys.acme });
}

const reconcile = (file: string, extra: string[] = []) =>
  cli(["reconcile", file, "--location", STORE, ...extra]);

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  dir = mkdtempSync(join(tmpdir(), "pos-ingest-reconcile-cli-"));
  // Around the day, in the same file, none of which may count: another store, the day before.
  const elsewhere = chicagoStore({ ...at("2026-11-30T15:00:00Z"), businessDay: DAY });
  elsewhere.locationId = "recon-other-store";
  const dayBefore = makeSale({
    locationId: STORE,
    occurredAt: timestampFromDate(new Date("2026-11-29T12:00:00Z")),
  });
  const sent = [...Object.values(theDay()), elsewhere, dayBefore];
  const missing = ["17", "18"].map((hour) => {
    const sale = chicagoStore({ ...at(`2026-11-30T${hour}:00:00Z`), businessDay: DAY });
    sale.locationId = STORE;
    sale.registerId = "till-1";
    return sale;
  });
  sentFile = join(dir, "sent.ndjson");
  tillFile = join(dir, "till.ndjson");
  writeFileSync(sentFile, ndjson(sent));
  writeFileSync(tillFile, ndjson([...sent, ...missing]));
  const loaded = await cli(["send", sentFile, "--progress", "none"]);
  expect(loaded.code, loaded.stdout + loaded.stderr).toBe(0);
  expect(loaded.stdout).toMatch(/accepted\s+10\b/);
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("pos-ingest reconcile", () => {
  it("prints match and exits 0 when everything in the file was sent", async () => {
    const res = await reconcile(sentFile, ["--business-day", DAY]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(
      `${STORE}, business day ${DAY}: 8 transactions in ${sentFile} (2 left out: 1 of other locations, 1 of other days or times)\nmatch\n`,
    );
    // One register: the bakery rang on till-2, alone.
    const till2 = await reconcile(sentFile, ["--business-day", DAY, "--register", "till-2"]);
    expect(till2.code, till2.stderr).toBe(0);
    expect(till2.stdout).toMatch(/: 1 transaction in .*7 of other registers.*\nmatch\n$/);
  });

  it("exits 1 and prints exactly the differing figures when two sales were never sent", async () => {
    const res = await reconcile(tillFile, ["--business-day", DAY]);
    expect(res.code, res.stderr).toBe(1);
    const lines = res.stdout.split("\n");
    expect(lines[0]).toBe(
      `${STORE}, business day ${DAY}: 10 transactions in ${tillFile} (2 left out: 1 of other locations, 1 of other days or times)`,
    );
    expect(lines[1]).toMatch(/^MISMATCH: 8 figures differ \(server snapshot \S+Z\)$/);
    expect(lines.slice(2, 11)).toEqual([
      "  figure                           currency   file  server",
      "  counts.sales                                   7       5",
      "  currencies.gross_minor           USD       14350    7850",
      "  currencies.discount_minor        USD        1275     575",
      "  currencies.service_charge_minor  USD          40      20",
      "  currencies.tax_minor             USD        1111     619",
      "  currencies.net_minor             USD       13075    7275",
      "  currencies.total_minor           USD       14226    7914",
      "  currencies.transactions          USD           6       4",
    ]);

    const json = await reconcile(tillFile, ["--business-day", DAY, "--json"]);
    expect(json.code).toBe(1);
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({
      scope: { locationId: STORE, businessDay: DAY },
      transactions: 10,
      leftOut: { location: 1, register: 0, period: 1 },
      match: false,
      rowsWithoutLedger: "0",
    });
    expect(answer.differences[0]).toEqual({
      figure: "counts.sales",
      currency: "",
      file: "7",
      server: "5",
    });
    expect(answer.differences).toHaveLength(8);
  });

  it("takes a UTC range of occurred_at instead of a day", async () => {
    // [30th 00:00Z, 1st 00:00Z): the Chicago sale rung at 02:00Z on the 1st is out on both sides.
    const res = await reconcile(sentFile, [
      "--from",
      "2026-11-30T00:00:00Z",
      "--to",
      "2026-12-01T00:00:00Z",
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/: 7 transactions in .*\(3 left out: .*2 of other days or times\)/);
  });

  it("exits 2 naming a bad flag, a missing scope, a refused range or an unreadable file", async () => {
    const badDay = await reconcile(sentFile, ["--business-day", "30.11.2026"]);
    expect(badDay.code).toBe(2);
    expect(badDay.stderr).toMatch(/--business-day.*30\.11\.2026.*YYYY-MM-DD/);
    const noLocation = await cli(["reconcile", sentFile, "--business-day", DAY]);
    expect(noLocation.code).toBe(2);
    expect(noLocation.stderr).toMatch(/--location/);
    const noPeriod = await reconcile(sentFile);
    expect(noPeriod.code).toBe(2);
    expect(noPeriod.stderr).toMatch(/--business-day.*--from and --to/);
    const both = await reconcile(sentFile, ["--business-day", DAY, "--from", "2026-11-30T00:00Z"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--business-day.*cannot be used with.*--from/);
    const noOffset = await reconcile(sentFile, ["--from", "2026-11-30T00:00", "--to", "x"]);
    expect(noOffset.code).toBe(2);
    expect(noOffset.stderr).toMatch(/--from.*offset/);
    // The server's own limit (31 days), named by its field.
    const long = await reconcile(sentFile, [
      "--from",
      "2026-10-01T00:00:00Z",
      "--to",
      "2026-12-01T00:00:00Z",
    ]);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/^reconcile failed: scope\.occurred\.end: /m);
    // A line that cannot be read: its sale was not sent either, so nothing is reconciled.
    const broken = join(dir, "broken.ndjson");
    writeFileSync(broken, `${ndjson(Object.values(theDay()))}{ not json\n`);
    const unreadable = await reconcile(broken, ["--business-day", DAY]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stdout).toBe("");
    expect(unreadable.stderr).toMatch(
      /: 1 transaction cannot be read[^\n]*\n {2}line 9: line: not JSON/,
    );
  });
});
