import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  Code,
  createIngestClient,
  type IngestClient,
  IngestError,
  type ReconcileInput,
  type ZReport,
} from "../../src/client/index.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import type { LogLine } from "../support/log-lines.js";
import { testLogger } from "../support/log-lines.js";
import { sampleValue } from "../support/prometheus-text.js";
import {
  berlinBakery,
  berlinExchange,
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  restaurantWithTip,
  zurichKiosk,
} from "../support/receipts-v2.js";
import { startTestServer, type TestServer } from "../support/server.js";

// End-of-day reconciliation against a real server on Postgres: a store's day of sales, a return,
// an exchange, a post-void and a tip, stored through the client; the server's figures must equal
// the HAND-COMPUTED Z report below (numbers written here from the receipts' printed totals, not
// computed by the rules module), and stores, tenants and days around it must not count.

const DAY = "2026-11-30";
const STORE = "recon-store";
const at = (iso: string) => ({ occurredAt: new Date(iso) });

/** The store's day as the gateway sent it, each receipt at STORE. */
function theDay() {
  const place = (sale: Sale, register = "till-1") => {
    sale.locationId = STORE;
    sale.registerId = register;
    return sale;
  };
  const s1 = place(chicagoStore({ ...at("2026-11-30T15:00:00Z"), businessDay: DAY }));
  // Rung up after midnight UTC, still the store's 30th (a late closing): in the day, not in the
  // UTC range of the 30th.
  const s2 = place(chicagoStore({ ...at("2026-12-01T02:00:00Z"), businessDay: DAY }));
  const ret = place(
    chicagoReturn({ ...at("2026-11-30T16:00:00Z"), businessDay: DAY, originalSaleId: s1.saleId }),
  );
  const tip = place(restaurantWithTip({ ...at("2026-11-30T20:00:00Z"), businessDay: DAY }));
  // No business day stated: the UTC date of occurred_at, the 30th.
  const kiosk = place(zurichKiosk({ ...at("2026-11-30T23:30:00Z"), businessDay: "" }));
  const voided = postVoidOf(kiosk);
  const bakery = place(berlinBakery({ ...at("2026-11-30T08:00:00Z"), businessDay: DAY }), "till-2");
  const exchange = place(berlinExchange({ ...at("2026-11-30T11:00:00Z"), businessDay: DAY }));
  return { s1, s2, ret, tip, kiosk, voided, bakery, exchange };
}

const zero = {
  grossMinor: 0n,
  discountMinor: 0n,
  serviceChargeMinor: 0n,
  taxMinor: 0n,
  includedTaxMinor: 0n,
  roundingMinor: 0n,
  tipMinor: 0n,
  netMinor: 0n,
  totalMinor: 0n,
};

/**
 * The day's Z report by hand, from the receipts' totals (docs/design/sale-model-v2.md §2):
 * USD: two Chicago sales (3250 / 350 / 10 / 246 / total 3156, net 2900 each), the mug's return
 * (−850 / −125 / tax −61 / −786, net −725), the diner's check (2200, tax 188, tip 400, 2388);
 * CHF: the kiosk (1396, VAT 55 included, rounding −1, 1395) and its void, negated: all zero;
 * EUR: the bakery (1579 / 38 / VAT 219 / 1541, net 1322) and the exchange (1000, VAT 159, 1000).
 */
const EXPECTED_DAY: ZReport = {
  counts: { sales: 5n, returns: 1n, exchanges: 1n, postVoids: 1n },
  currencies: [
    { currency: "CHF", ...zero, transactions: 2n },
    {
      currency: "EUR",
      ...zero,
      grossMinor: 2579n, // 1579 + 1000
      discountMinor: 38n,
      taxMinor: 378n, // 219 + 159, all included
      includedTaxMinor: 378n,
      netMinor: 2163n, // 1322 + 841
      totalMinor: 2541n, // 1541 + 1000
      transactions: 2n,
    },
    {
      currency: "USD",
      ...zero,
      grossMinor: 7850n, // 3250 + 3250 − 850 + 2200
      discountMinor: 575n, // 350 + 350 − 125
      serviceChargeMinor: 20n, // two bag fees
      taxMinor: 619n, // 246 + 246 − 61 + 188
      tipMinor: 400n,
      netMinor: 7275n, // 2900 + 2900 − 725 + 2200
      totalMinor: 7914n, // 3156 + 3156 − 786 + 2388
      transactions: 4n,
    },
  ],
};

let server: TestServer;
let acme: IngestClient;
let globex: IngestClient;
const logLines: LogLine[] = [];

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
      ...zero,
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
      ...zero,
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
          ...zero,
          grossMinor: -850n,
          discountMinor: -125n,
          taxMinor: -61n,
          netMinor: -725n,
          totalMinor: -786n,
          transactions: 1n,
        },
      ],
    });
  });

  it("answers an empty scope with zeros and another tenant with its own rows only", async () => {
    const nothing = await acme.reconcile(ofDay(EXPECTED_DAY, { locationId: "recon-nowhere" }));
    expect(nothing.server).toEqual({
      counts: { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n },
      currencies: [],
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
});
