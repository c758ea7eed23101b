import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { clone, create, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ReconcileRequestSchema,
  ReconcileResponseSchema,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { PaymentSchema, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  Code,
  createIngestClient,
  type IngestClient,
  IngestError,
  type ReconcileInput,
  type ZReport,
  type ZReportTender,
  zReport,
  zReportDay,
} from "../../src/client/index.js";
import { backfillLedger } from "../../src/ingest/ledger-backfill.js";
import { createDatabase } from "../../src/storage/database.js";
import { connectReconcile } from "../support/connect-client.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import type { LogLine } from "../support/log-lines.js";
import { testLogger } from "../support/log-lines.js";
import { sampleValue } from "../support/prometheus-text.js";
import {
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  restaurantWithTip,
} from "../support/receipts-v2.js";
import { at, DAY, EXPECTED_DAY, STORE, theDay, ZERO } from "../support/reconcile-day.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

// End-of-day reconciliation against a real server on Postgres: a store's day of sales, a return,
// an exchange, a post-void and a tip, stored through the client; the server's figures must equal
// the HAND-COMPUTED Z report of support/reconcile-day.ts, and stores, tenants and days around it
// must not count.

let server: TestServer;
let acme: IngestClient;
let globex: IngestClient;
const logLines: LogLine[] = [];
let runs = 0;
const { CASH, CARD } = TenderType;

beforeAll(async () => {
  server = await startTestServer({ logger: testLogger({ onLine: (l) => logLines.push(l) }) });
  acme = createIngestClient({ baseUrl: server.baseUrl, apiKey: server.keys.acme });
  globex = createIngestClient({ baseUrl: server.baseUrl, apiKey: server.keys.globex });
  const day = theDay();
  for (const sale of Object.values(day)) {
    expect((await acme.ingest(sale)).outcome).toBe("accepted");
  }
  // Around the day, none of which may count: the same day at another store, the same store on
  // the 29th, a return on the 1st of a sale of the 30th (it counts on its own day), and another
  // tenant's sale at a store of the same name on the same day.
  const elsewhere = chicagoStore({ ...at("2026-11-30T15:00:00Z"), businessDay: DAY });
  elsewhere.locationId = "recon-other-store";
  const dayBefore = makeSale({
    locationId: STORE,
    occurredAt: timestampFromDate(new Date("2026-11-29T12:00:00Z")),
  });
  const nextDayReturn = chicagoReturn({
    ...at("2026-12-01T10:00:00Z"),
    businessDay: "2026-12-01",
    originalSaleId: day.s2.saleId,
  });
  nextDayReturn.locationId = STORE;
  for (const sale of [elsewhere, dayBefore, nextDayReturn]) await acme.ingest(sale);
  const theirs = chicagoStore({ ...at("2026-11-30T15:00:00Z"), businessDay: DAY });
  theirs.locationId = STORE;
  await globex.ingest(theirs);
});

afterAll(async () => {
  acme?.close();
  globex?.close();
  await server?.stop();
});

const ofDay = (figures: ZReport, extra: Partial<ReconcileInput> = {}): ReconcileInput => ({
  locationId: STORE,
  businessDay: DAY,
  figures,
  ...extra,
});

describe("Reconcile", () => {
  it("matches the gateway's correct figures, and the server's equal the hand-computed day", async () => {
    const answer = await acme.reconcile(ofDay(EXPECTED_DAY));
    expect(answer.differences).toEqual([]);
    expect(answer.match).toBe(true);
    expect(answer.server).toEqual(EXPECTED_DAY);
    expect(answer.rowsWithoutLedger).toBe(0n);
    // The snapshot is the statement's own clock: after every sale above was acknowledged.
    expect(answer.snapshotAt.getTime()).toBeGreaterThan(Date.now() - 600_000);
    expect(answer.snapshotAt.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it("lists exactly the figures that differ when two sales were never sent", async () => {
    // The gateway's till holds two more Chicago sales (3250 / 350 / 10 / 246 / 3156 each) that
    // never reached the server.
    const usd = EXPECTED_DAY.currencies[2] as ZReport["currencies"][number];
    const gateway: ZReport = {
      counts: { ...EXPECTED_DAY.counts, sales: 7n },
      currencies: [
        ...EXPECTED_DAY.currencies.slice(0, 2),
        {
          ...usd,
          grossMinor: 14_350n,
          discountMinor: 1_275n,
          serviceChargeMinor: 40n,
          taxMinor: 1_111n,
          netMinor: 13_075n,
          totalMinor: 14_226n,
          transactions: 6n,
        },
      ],
      // Paid by card, 3156 each: six card payments of 7914 + 6312.
      tenders: [
        ...EXPECTED_DAY.tenders.slice(0, 2),
        { ...(EXPECTED_DAY.tenders[2] as ZReportTender), payments: 6n, amountMinor: 14_226n },
      ],
    };
    const answer = await acme.reconcile(ofDay(gateway));
    expect(answer.match).toBe(false);
    expect(answer.differences).toEqual([
      { figure: "counts.sales", currency: "", gateway: 7n, server: 5n },
      { figure: "currencies.gross_minor", currency: "USD", gateway: 14_350n, server: 7_850n },
      { figure: "currencies.discount_minor", currency: "USD", gateway: 1_275n, server: 575n },
      { figure: "currencies.service_charge_minor", currency: "USD", gateway: 40n, server: 20n },
      { figure: "currencies.tax_minor", currency: "USD", gateway: 1_111n, server: 619n },
      { figure: "currencies.net_minor", currency: "USD", gateway: 13_075n, server: 7_275n },
      { figure: "currencies.total_minor", currency: "USD", gateway: 14_226n, server: 7_914n },
      { figure: "currencies.transactions", currency: "USD", gateway: 6n, server: 4n },
      { figure: "tenders.payments", currency: "USD", tenderType: CARD, gateway: 6n, server: 4n },
      {
        figure: "tenders.amount_minor",
        currency: "USD",
        tenderType: CARD,
        gateway: 14_226n,
        server: 7_914n,
      },
    ]);
    expect(answer.server).toEqual(EXPECTED_DAY);
  });

  it("compares a currency one side lacks as zeros", async () => {
    const answer = await acme.reconcile(
      ofDay({ ...EXPECTED_DAY, currencies: EXPECTED_DAY.currencies.slice(1) }),
    );
    // CHF's sums cancel (a sale and its void): only its transaction count differs.
    expect(answer.differences).toEqual([
      { figure: "currencies.transactions", currency: "CHF", gateway: 0n, server: 2n },
    ]);
  });

  it("narrows to one register", async () => {
    // The bakery rang on till-2: till-1 has the day without it.
    const answer = await acme.reconcile(ofDay(EXPECTED_DAY, { registerId: "till-1" }));
    expect(answer.server.counts).toEqual({ sales: 4n, returns: 1n, exchanges: 1n, postVoids: 1n });
    expect(answer.server.currencies[1]).toEqual({
      currency: "EUR",
      ...ZERO,
      grossMinor: 1000n,
      taxMinor: 159n,
      includedTaxMinor: 159n,
      netMinor: 841n,
      totalMinor: 1000n,
      transactions: 1n,
    });
  });

  it("takes a UTC range of occurred_at instead of a business day", async () => {
    // [30th 00:00Z, 1st 00:00Z): the second Chicago sale (rung at 02:00Z on the 1st) is out,
    // the kiosk (23:30Z) and its void are in.
    const answer = await acme.reconcile({
      locationId: STORE,
      occurred: { from: new Date("2026-11-30T00:00:00Z"), to: new Date("2026-12-01T00:00:00Z") },
      figures: EXPECTED_DAY,
    });
    expect(answer.server.counts).toEqual({ sales: 4n, returns: 1n, exchanges: 1n, postVoids: 1n });
    expect(answer.server.currencies[2]).toEqual({
      currency: "USD",
      ...ZERO,
      grossMinor: 4600n,
      discountMinor: 225n,
      serviceChargeMinor: 10n,
      taxMinor: 373n,
      tipMinor: 400n,
      netMinor: 4375n,
      totalMinor: 4758n,
      transactions: 3n,
    });
  });

  it("counts a return on its own business day", async () => {
    // The 1st: only the return of the second Chicago sale (−850 / −125 / −61 / −786).
    const answer = await acme.reconcile(ofDay(EXPECTED_DAY, { businessDay: "2026-12-01" }));
    expect(answer.server).toEqual({
      counts: { sales: 0n, returns: 1n, exchanges: 0n, postVoids: 0n },
      currencies: [
        {
          currency: "USD",
          ...ZERO,
          grossMinor: -850n,
          discountMinor: -125n,
          taxMinor: -61n,
          netMinor: -725n,
          totalMinor: -786n,
          transactions: 1n,
        },
      ],
      // The refund tender: one card line of −786.
      tenders: [
        { currency: "USD", tenderType: CARD, payments: 1n, amountMinor: -786n, tipMinor: 0n },
      ],
    });
  });

  it("answers an empty scope with zeros and another tenant with its own rows only", async () => {
    const nothing = await acme.reconcile(ofDay(EXPECTED_DAY, { locationId: "recon-nowhere" }));
    expect(nothing.server).toEqual({
      counts: { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n },
      currencies: [],
      tenders: [],
    });
    const theirs = await globex.reconcile(ofDay(EXPECTED_DAY));
    expect(theirs.server.counts).toEqual({ sales: 1n, returns: 0n, exchanges: 0n, postVoids: 0n });
    expect(theirs.server.currencies.map((c) => [c.currency, c.totalMinor])).toEqual([
      ["USD", 3156n],
    ]);
  });

  it("refuses a bad request with INVALID_ARGUMENT naming the field", async () => {
    const refused = async (input: ReconcileInput) => {
      const err = await acme.reconcile(input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(IngestError);
      expect((err as IngestError).code).toBe(Code.InvalidArgument);
      expect((err as IngestError).attempts).toBe(1);
      return (err as IngestError).fieldViolations.map((v) => v.field);
    };
    expect(await refused(ofDay(EXPECTED_DAY, { businessDay: "2026-02-30" }))).toEqual([
      "scope.business_day",
    ]);
    expect(await refused(ofDay(EXPECTED_DAY, { businessDay: "30.11.2026" }))).toEqual([
      "scope.business_day",
    ]);
    expect(await refused(ofDay(EXPECTED_DAY, { locationId: "" }))).toEqual(["scope.location_id"]);
    expect(
      await refused({
        locationId: STORE,
        occurred: { from: new Date("2026-11-30T00:00:00Z"), to: new Date("2026-11-29T00:00:00Z") },
        figures: EXPECTED_DAY,
      }),
    ).toEqual(["scope.occurred.end"]);
    expect(
      await refused({
        locationId: STORE,
        occurred: { from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-03-01T00:00:00Z") },
        figures: EXPECTED_DAY,
      }),
    ).toEqual(["scope.occurred.end"]);
    const usd = EXPECTED_DAY.currencies[2] as ZReport["currencies"][number];
    expect(
      await refused(
        ofDay({ ...EXPECTED_DAY, currencies: [usd, { ...usd }, { ...usd, currency: "usd" }] }),
      ),
    ).toEqual(["figures.currencies[1].currency", "figures.currencies[2].currency"]);
    const many = Array.from({ length: 21 }, () => usd);
    expect(await refused(ofDay({ ...EXPECTED_DAY, currencies: many }))).toEqual([
      "figures.currencies",
    ]);
    expect(
      await refused(
        ofDay({ ...EXPECTED_DAY, counts: { ...EXPECTED_DAY.counts, returns: 10n ** 12n } }),
      ),
    ).toEqual(["figures.counts.returns"]);
  });

  it("counts reconciliations per tenant and logs each mismatch without sale or customer data", async () => {
    const before = await server.app.metrics.registry.metrics();
    const seen = logLines.length;
    await acme.reconcile(ofDay(EXPECTED_DAY));
    await acme.reconcile(ofDay({ ...EXPECTED_DAY, counts: { ...EXPECTED_DAY.counts, sales: 6n } }));
    const after = await server.app.metrics.registry.metrics();
    const count = (text: string, result: string) =>
      sampleValue(text, "reconciliations_total", { tenant: "acme", result }) ?? 0;
    expect(count(after, "match") - count(before, "match")).toBe(1);
    expect(count(after, "mismatch") - count(before, "mismatch")).toBe(1);
    const mismatches = logLines.slice(seen).filter((l) => l.msg === "reconciliation mismatch");
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]).toMatchObject({
      level: 40,
      tenant: "acme",
      location: STORE,
      businessDay: DAY,
      differ: ["counts.sales"],
    });
    // Names of figures and where: no amounts, sale ids, cashiers or card details.
    expect(Object.keys(mismatches[0] as LogLine).sort()).toEqual(
      ["level", "time", "service", "msg", "tenant", "location", "businessDay", "differ"].sort(),
    );
  });

  it("does not match while stored rows of the scope lack their ledger", async () => {
    const url = server.databaseUrl as string;
    const [row] = await query<{ idempotency_key: string; net_minor: string }>(
      url,
      `select idempotency_key, net_minor::text from sales
       where tenant_id = 'acme' and location_id = $1 and kind = 'exchange'`,
      [STORE],
    );
    await query(url, "update sales set net_minor = null where idempotency_key = $1", [
      row?.idempotency_key,
    ]);
    try {
      const answer = await acme.reconcile(ofDay(EXPECTED_DAY));
      expect(answer.match).toBe(false);
      expect(answer.rowsWithoutLedger).toBe(1n);
      expect(answer.differences).toEqual([
        { figure: "currencies.net_minor", currency: "EUR", gateway: 2163n, server: 1322n },
        { figure: "rows_without_ledger", currency: "", gateway: 0n, server: 1n },
      ]);
    } finally {
      await query(url, "update sales set net_minor = $2 where idempotency_key = $1", [
        row?.idempotency_key,
        row?.net_minor,
      ]);
    }
  });

  it("counts a row without its tenders in rows_without_ledger until backfill-ledger fills it", async () => {
    // As a row stored before migration 000500: its ledger, no tenders. The exchange paid 1000
    // by card in EUR.
    const url = server.databaseUrl as string;
    await query(
      url,
      `update sales set tender_types = null, tender_amounts_minor = null, tender_tips_minor = null
       where tenant_id = 'acme' and location_id = $1 and kind = 'exchange'`,
      [STORE],
    );
    const missing = await acme.reconcile(ofDay(EXPECTED_DAY));
    expect(missing.match).toBe(false);
    expect(missing.rowsWithoutLedger).toBe(1n);
    expect(missing.differences).toEqual([
      { figure: "tenders.payments", currency: "EUR", tenderType: CARD, gateway: 2n, server: 1n },
      {
        figure: "tenders.amount_minor",
        currency: "EUR",
        tenderType: CARD,
        gateway: 2541n,
        server: 1541n,
      },
      { figure: "rows_without_ledger", currency: "", gateway: 0n, server: 1n },
    ]);
    const handle = createDatabase({ kind: "postgres", url, poolMax: 1 });
    try {
      expect(await backfillLedger(handle.db, { batchSize: 100 })).toMatchObject({
        read: 1,
        filled: 1,
        unfilled: 0,
      });
    } finally {
      await handle.close();
    }
    const filled = await acme.reconcile(ofDay(EXPECTED_DAY));
    expect(filled.differences).toEqual([]);
    expect(filled.server).toEqual(EXPECTED_DAY);
  });

  it("sums tenders by type: cash and card split with a tip, a cash refund, a voided split sale", async () => {
    // The diner's check (2200 + tax 188 = 2388, tip 400) paid 10.00 cash (20.00 tendered, 10.00
    // back) and 13.88 + the 4.00 tip by card, twice; the second check voided; the mug returned
    // without a receipt, refunded 7.86 in cash.
    const location = "recon-tenders";
    const split = () => {
      const sale = restaurantWithTip({ ...at("2026-11-30T19:00:00Z"), businessDay: DAY });
      sale.locationId = location;
      sale.payments = [
        create(PaymentSchema, {
          tenderType: CASH,
          amountMinor: 1000n,
          tenderedMinor: 2000n,
          changeMinor: 1000n,
        }),
        create(PaymentSchema, {
          tenderType: CARD,
          amountMinor: 1388n,
          tipMinor: 400n,
          cardBrand: "visa",
        }),
      ];
      return sale;
    };
    const first = split();
    const second = split();
    const voided = postVoidOf(second);
    const refund = chicagoReturn({ ...at("2026-11-30T21:00:00Z"), businessDay: DAY });
    refund.locationId = location;
    refund.payments = [create(PaymentSchema, { tenderType: CASH, amountMinor: -786n })];
    const sent = [first, second, voided, refund];
    for (const sale of sent) expect((await acme.ingest(sale)).outcome).toBe("accepted");

    const answer = await acme.reconcile({
      locationId: location,
      businessDay: DAY,
      figures: zReport(sent),
    });
    expect(answer.differences).toEqual([]);
    expect(answer.server.tenders).toEqual([
      // 1000 + 1000 − 1000 (the void) − 786 (the refund); lines 1 + 1 − 1 + 1.
      { currency: "USD", tenderType: CASH, payments: 2n, amountMinor: 214n, tipMinor: 0n },
      // 1388 + 1388 − 1388, tips 400 + 400 − 400; lines 1 + 1 − 1.
      { currency: "USD", tenderType: CARD, payments: 1n, amountMinor: 1388n, tipMinor: 400n },
    ]);

    // The gateway's till also holds a Chicago sale paid 31.56 by card that never arrived.
    const seen = logLines.length;
    const lost = chicagoStore({ ...at("2026-11-30T22:00:00Z"), businessDay: DAY });
    lost.locationId = location;
    const short = await acme.reconcile({
      locationId: location,
      businessDay: DAY,
      figures: zReport([...sent, lost]),
    });
    expect(short.differences).toEqual([
      { figure: "counts.sales", currency: "", gateway: 3n, server: 2n },
      // 2200 + 2200 − 2200 − 850 = 1350 stored, + 3250.
      { figure: "currencies.gross_minor", currency: "USD", gateway: 4600n, server: 1350n },
      { figure: "currencies.discount_minor", currency: "USD", gateway: 225n, server: -125n },
      { figure: "currencies.service_charge_minor", currency: "USD", gateway: 10n, server: 0n },
      { figure: "currencies.tax_minor", currency: "USD", gateway: 373n, server: 127n },
      { figure: "currencies.net_minor", currency: "USD", gateway: 4375n, server: 1475n },
      { figure: "currencies.total_minor", currency: "USD", gateway: 4758n, server: 1602n },
      { figure: "currencies.transactions", currency: "USD", gateway: 5n, server: 4n },
      // Only the card's figures differ, and the tips do not (the lost sale had none).
      { figure: "tenders.payments", currency: "USD", tenderType: CARD, gateway: 2n, server: 1n },
      {
        figure: "tenders.amount_minor",
        currency: "USD",
        tenderType: CARD,
        gateway: 4544n,
        server: 1388n,
      },
    ]);
    const line = logLines.slice(seen).find((l) => l.msg === "reconciliation mismatch");
    expect(line?.differ).toEqual([
      "counts.sales",
      ...["gross", "discount", "service_charge", "tax", "net", "total"].map(
        (f) => `currencies.${f}_minor[USD]`,
      ),
      "currencies.transactions[USD]",
      "tenders.payments[USD CARD]",
      "tenders.amount_minor[USD CARD]",
    ]);
  });

  it("refuses tender figures it cannot compare, naming the field", async () => {
    const card = EXPECTED_DAY.tenders[2] as ZReportTender;
    const err = await acme
      .reconcile(
        ofDay({
          ...EXPECTED_DAY,
          tenders: [card, { ...card }, { ...card, tenderType: 99 as TenderType }],
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).fieldViolations.map((v) => v.field)).toEqual([
      "figures.tenders[1].tender_type",
      "figures.tenders[2].tender_type",
    ]);
  });
});

describe("Reconcile by the rules module", () => {
  it("matches zReport() of random valid transactions of every kind, day by day", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(validTransaction(), { minLength: 1, maxLength: 20 }),
        async (generated) => {
          const location = `recon-prop-${++runs}`;
          // Ids unique per run, every original named but not stored (a void is stored on its
          // own declaration), as the ledger's property test does.
          const sales = generated.map((s, i) => {
            const copy = clone(SaleSchema, s);
            copy.locationId = location;
            copy.saleId = `${location}-${i}`;
            if (copy.original) {
              copy.original.saleId = `${location}-original-${i}`;
              copy.original.locationId = "";
              copy.original.source = "";
              copy.original.idempotencyKey = "";
            }
            return copy;
          });
          const sent = await acme.ingestMany(sales);
          expect(sent.rejections).toEqual([]);
          for (const day of new Set(sales.map(zReportDay))) {
            const ofThatDay = sales.filter((s) => zReportDay(s) === day);
            const answer = await acme.reconcile({
              locationId: location,
              businessDay: day,
              figures: zReport(ofThatDay),
            });
            expect(answer.differences).toEqual([]);
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it("answers from one snapshot while sales keep arriving", async () => {
    // One sale repeated under fresh ids while reconciliations run: every answer must be n times
    // that sale for one n (a torn read would mix counts and sums of different moments), n never
    // shrinks, and every sale acknowledged before a call began is in its answer.
    const location = "recon-busy";
    // A fixed time, so the day cannot turn while the test runs.
    const occurredAt = timestampFromDate(new Date("2026-11-30T12:00:00Z"));
    let acknowledged = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 150; i++) {
        const sale = makeSale({ locationId: location, saleId: `busy-${i}`, occurredAt });
        await acme.ingest(sale);
        acknowledged++;
      }
      writing = false;
    })();
    const one = makeSale({ locationId: location, occurredAt });
    const total = one.totals?.totalMinor ?? 0n;
    const gross = one.totals?.subtotalMinor ?? 0n;
    let last = 0n;
    let answers = 0;
    const today = zReportDay(one);
    const empty: ZReport = {
      counts: { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n },
      currencies: [],
      tenders: [],
    };
    while (writing || answers < 3) {
      const before = acknowledged;
      const answer = await acme.reconcile({
        locationId: location,
        businessDay: today,
        figures: empty,
      });
      const n = answer.server.counts.sales;
      const eur = answer.server.currencies[0];
      if (n > 0n) {
        expect(eur).toMatchObject({
          transactions: n,
          grossMinor: n * gross,
          totalMinor: n * total,
        });
      }
      expect(n).toBeGreaterThanOrEqual(BigInt(before));
      expect(n).toBeGreaterThanOrEqual(last);
      last = n;
      answers++;
    }
    await writer;
    const final = await acme.reconcile({
      locationId: location,
      businessDay: today,
      figures: empty,
    });
    expect(final.server.counts.sales).toBe(150n);
  });
});

describe("Reconcile on embedded PGlite", () => {
  it("gives the hand-computed day too", async () => {
    const embedded = await startTestServer({ database: "pglite" });
    const c = createIngestClient({ baseUrl: embedded.baseUrl, apiKey: embedded.keys.acme });
    try {
      for (const sale of Object.values(theDay())) await c.ingest(sale);
      const answer = await c.reconcile({
        locationId: STORE,
        businessDay: DAY,
        figures: EXPECTED_DAY,
      });
      expect(answer.differences).toEqual([]);
      expect(answer.server).toEqual(EXPECTED_DAY);
    } finally {
      c.close();
      await embedded.stop();
    }
  });
});

describe("the README's worked example", () => {
  it("is the answer to its request, and resending the two missing sales makes it match", async () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const section = readme.slice(readme.indexOf("## Reconciling a day"));
    const json = [
      ...section.slice(0, section.indexOf("\n## ")).matchAll(/^```json\n([\s\S]*?)^```$/gm),
    ];
    expect(json).toHaveLength(2);
    const request = fromJson(ReconcileRequestSchema, JSON.parse(json[0]?.[1] ?? ""));
    // The time and the key digest vary by run (the fixture's sale ids are random).
    const { snapshotAt: _, keys: expectedKeys, ...expected } = JSON.parse(json[1]?.[1] ?? "");
    const wire = connectReconcile(server.baseUrl, "the README example's reconcile client");
    try {
      const res = await wire.client.reconcile(request, auth(server.keys.acme));
      const { snapshotAt, keys, ...answer } = toJson(ReconcileResponseSchema, res) as Record<
        string,
        unknown
      >;
      expect(answer).toEqual(expected);
      expect((keys as { count: string }).count).toBe(expectedKeys.count);
      expect(snapshotAt).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
      // The till's two Chicago sales, sent now.
      for (const hour of ["17", "18"]) {
        const missing = chicagoStore({ ...at(`2026-11-30T${hour}:00:00Z`), businessDay: DAY });
        missing.locationId = STORE;
        await acme.ingest(missing);
      }
      const again = await wire.client.reconcile(request, auth(server.keys.acme));
      expect(again.differences).toEqual([]);
      expect(again.match).toBe(true);
    } finally {
      wire.close();
    }
  });
});
