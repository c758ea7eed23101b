import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { createIngestClient, saleKey } from "../../src/client/index.js";
import { runCli } from "../support/cli.js";
import { query } from "../support/database.js";
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
/** The keys `send` would give the till's two unsent sales, lines 11 and 12 of its file. */
let missingKeys: string[];

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
  missingKeys = missing.map((sale) => saleKey(sale));
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
      `${STORE}, business day ${DAY}: 8 transactions in ${sentFile} (2 left out: 1 of other locations, 1 of other days or times)\nmatch (1 call)\n`,
    );
    // One register: the bakery rang on till-2, alone.
    const till2 = await reconcile(sentFile, ["--business-day", DAY, "--register", "till-2"]);
    expect(till2.code, till2.stderr).toBe(0);
    expect(till2.stdout).toMatch(
      /: 1 transaction in .*7 of other registers.*\nmatch \(1 call\)\n$/,
    );
  });

  it("exits 1 and prints exactly the differing figures and the two sales never sent", async () => {
    const res = await reconcile(tillFile, ["--business-day", DAY]);
    expect(res.code, res.stderr).toBe(1);
    const lines = res.stdout.split("\n");
    expect(lines[0]).toBe(
      `${STORE}, business day ${DAY}: 10 transactions in ${tillFile} (2 left out: 1 of other locations, 1 of other days or times)`,
    );
    expect(lines[1]).toMatch(/^MISMATCH: 11 figures differ \(server snapshot \S+Z\)$/);
    expect(lines.slice(2, 20)).toEqual([
      "  figure                           currency  tender   file  server",
      "  counts.sales                                           7       5",
      "  currencies.gross_minor           USD               14350    7850",
      "  currencies.discount_minor        USD                1275     575",
      "  currencies.service_charge_minor  USD                  40      20",
      "  currencies.tax_minor             USD                1111     619",
      "  currencies.net_minor             USD               13075    7275",
      "  currencies.total_minor           USD               14226    7914",
      "  currencies.transactions          USD                   6       4",
      "  tenders.payments                 USD       CARD        6       4",
      "  tenders.amount_minor             USD       CARD    14226    7914",
      "  keys.count                                            10       8",
      // 10 keys on the file's side: one page of the server's keys is the whole search.
      "search: 1 round, 2 calls",
      "  round 1: 1 key range listed (10 keys of the file)",
      "missing on the server: 2 transactions",
      `  line 11  ${missingKeys[0]}`,
      `  line 12  ${missingKeys[1]}`,
      "`--resend` sends the missing ones (exactly-once: nothing already stored is stored twice).",
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
    // The eight figures, the two tender figures, keys.count and keys.digest.
    expect(answer.differences).toHaveLength(12);
    expect(answer.missing).toEqual([
      { key: missingKeys[0], lines: "11" },
      { key: missingKeys[1], lines: "12" },
    ]);
    expect(answer).toMatchObject({ extra: [], storedUnderOtherKey: [], truncated: false });
    // The two sales' card payments, the tender type named by its proto name.
    expect(answer.differences.slice(8, 10)).toEqual([
      {
        figure: "tenders.payments",
        currency: "USD",
        tenderType: "TENDER_TYPE_CARD",
        file: "6",
        server: "4",
      },
      {
        figure: "tenders.amount_minor",
        currency: "USD",
        tenderType: "TENDER_TYPE_CARD",
        file: "14226",
        server: "7914",
      },
    ]);
    expect(answer.figures.server.tenders[2]).toEqual({
      currency: "USD",
      tenderType: "TENDER_TYPE_CARD",
      payments: "4",
      amountMinor: "7914",
      tipMinor: "400",
    });
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

describe("pos-ingest reconcile --resend", () => {
  // The issue's day: sales, a return, an exchange, a tipped check and a voided sale, of which the
  // second Chicago sale and the tipped check never reached the server and the bakery sale was
  // stored by a gateway that keyed it its own way. On a server of its own: nothing else is there.
  let own: TestServer;
  let till: string;
  const day = theDay();
  const ownCli = (args: string[]) =>
    runCli(args, { POS_INGEST_SERVER: own.baseUrl, POS_INGEST_API_KEY: own.keys.acme });

  beforeAll(async () => {
    own = await startTestServer({ database: "postgres" });
    const { s2, tip, bakery, ...rest } = day;
    const sent = join(dir, "resend-sent.ndjson");
    writeFileSync(sent, ndjson(Object.values(rest)));
    const loaded = await ownCli(["send", sent, "--progress", "none"]);
    expect(loaded.code, loaded.stdout + loaded.stderr).toBe(0);
    const client = createIngestClient({ baseUrl: own.baseUrl, apiKey: own.keys.acme });
    try {
      const stored = await client.ingest(bakery, { idempotencyKey: "till-2/offline/0001" });
      expect(stored.outcome).toBe("accepted");
    } finally {
      client.close();
    }
    // The till's file, one transaction a line: s1 s2 ret tip kiosk voided bakery exchange.
    till = join(dir, "resend-till.ndjson");
    writeFileSync(till, ndjson(Object.values(day)));
    expect(s2 && tip).toBeTruthy();
  });

  afterAll(async () => {
    await own?.stop();
  });

  it("finds exactly the two never sent and the one under another key, resends the two, then matches", async () => {
    const scope = ["reconcile", till, "--location", STORE, "--business-day", DAY];
    const before = await ownCli(scope);
    expect(before.code, before.stderr).toBe(1);
    expect(before.stdout).toContain(
      [
        "search: 1 round, 2 calls",
        "  round 1: 1 key range listed (8 keys of the file)",
        "missing on the server: 2 transactions",
        `  line 2  ${saleKey(day.s2)}`,
        `  line 4  ${saleKey(day.tip)}`,
        "stored under another key than the file's: 1 transaction (not resent: that would store it twice)",
        `  line 7  ${saleKey(day.bakery)}  stored as till-2/offline/0001`,
      ].join("\n"),
    );
    expect(before.stdout).not.toContain("on the server, not in the file");

    const resent = await ownCli([...scope, "--resend"]);
    expect(resent.code, resent.stdout + resent.stderr).toBe(0);
    expect(resent.stdout).toContain("resent 2 transactions: 2 accepted, 0 duplicate\n");
    const after = resent.stdout.slice(resent.stdout.indexOf("resent 2"));
    expect(after).toMatch(
      /\nmatch \(\d+ calls?\)\nstored under another key than the file's: 1 transaction/,
    );

    // A second reconciliation matches too, and the bakery sale is stored once, under its own key.
    const again = await ownCli([...scope, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      match: true,
      missing: [],
      extra: [],
      storedUnderOtherKey: [
        { key: saleKey(day.bakery), lines: "7", storedAs: "till-2/offline/0001" },
      ],
    });
    const rows = await query(
      own.databaseUrl as string,
      "select idempotency_key from sales where sale_id = $1",
      [day.bakery.saleId],
    );
    expect(rows.map((r) => r.idempotency_key)).toEqual(["till-2/offline/0001"]);
  });

  it("exits 3, for a retry later, when the server cannot be reached", async () => {
    // A port nobody listens on: refused at once, retried by the client's policy (~20 s), then 3.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const res = await runCli(["reconcile", till, "--location", STORE, "--business-day", DAY], {
      POS_INGEST_SERVER: `http://127.0.0.1:${port}`,
      POS_INGEST_API_KEY: own.keys.acme,
    });
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/^reconcile failed: /m);
    expect(res.stdout).toBe("");
  });

  it("refuses --resend from standard input (it reads the file twice)", async () => {
    const stdin = await ownCli([
      "reconcile",
      "-",
      "--location",
      STORE,
      "--business-day",
      DAY,
      "--resend",
    ]);
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/--resend reads the file twice/);
  });
});
