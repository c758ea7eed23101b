import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ReconcileRequestSchema } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { TenderType, TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  compareZReports,
  emptyCurrency,
  emptyTender,
  figureLabel,
  fromWireFigure,
  wireFigure,
  zReport,
  zReportDay,
} from "../../src/contract/z-report.js";
import { ValidationError } from "../../src/errors.js";
import { parseReconcileRequest } from "../../src/ingest/reconcile-request.js";
import { makeSale } from "../support/fixtures.js";
import { EXPECTED_DAY, theDay } from "../support/reconcile-day.js";

describe("the Z-report rules", () => {
  it("give the hand-computed figures of a day with sales, a return, an exchange, a void and a tip", () => {
    expect(zReport(Object.values(theDay()))).toEqual(EXPECTED_DAY);
  });

  it("count a transaction on its stated business day, else the UTC date of occurred_at", () => {
    const late = timestampFromDate(new Date("2026-12-01T01:30:00Z"));
    expect(zReportDay(makeSale({ occurredAt: late, businessDay: "2026-11-30" }))).toBe(
      "2026-11-30",
    );
    expect(zReportDay(makeSale({ occurredAt: late }))).toBe("2026-12-01");
  });

  it("list differences counts first, then by currency in code order, a missing currency as zeros", () => {
    const base = { counts: { sales: 2n, returns: 0n, exchanges: 0n, postVoids: 0n } };
    const gateway = {
      ...base,
      currencies: [{ ...emptyCurrency("USD"), totalMinor: 5n, transactions: 1n }],
      tenders: [],
    };
    const server = {
      counts: { ...base.counts, sales: 1n },
      currencies: [{ ...emptyCurrency("EUR"), totalMinor: 7n, transactions: 1n }],
      tenders: [],
    };
    expect(compareZReports(gateway, server)).toEqual([
      { figure: "counts.sales", currency: "", gateway: 2n, server: 1n },
      { figure: "currencies.total_minor", currency: "EUR", gateway: 0n, server: 7n },
      { figure: "currencies.transactions", currency: "EUR", gateway: 0n, server: 1n },
      { figure: "currencies.total_minor", currency: "USD", gateway: 5n, server: 0n },
      { figure: "currencies.transactions", currency: "USD", gateway: 1n, server: 0n },
    ]);
    expect(compareZReports(EXPECTED_DAY, EXPECTED_DAY)).toEqual([]);
  });

  it("sum tenders per currency and type over payment lines, a void's lines counting −1", () => {
    const { CASH, CARD, GIFT_CARD } = TenderType;
    // Paid 5.00 cash + 12.00 card with a 1.50 tip, then voided; a second sale on a gift card
    // and by card; a refund by card; a CHF sale by card.
    const paid = makeSale({
      currency: "EUR",
      payments: [
        { tenderType: CARD, amountMinor: 1200n, tipMinor: 150n },
        { tenderType: CASH, amountMinor: 500n },
      ],
    });
    const voided = makeSale({
      currency: "EUR",
      kind: TransactionKind.POST_VOID,
      payments: paid.payments,
    });
    const second = makeSale({
      currency: "EUR",
      payments: [
        { tenderType: GIFT_CARD, amountMinor: 300n },
        { tenderType: CARD, amountMinor: 99n },
      ],
    });
    const refund = makeSale({
      currency: "EUR",
      kind: TransactionKind.RETURN,
      payments: [{ tenderType: CARD, amountMinor: -40n }],
    });
    const swiss = makeSale({ currency: "CHF", payments: [{ tenderType: CARD, amountMinor: 7n }] });
    expect(zReport([paid, voided, second, refund, swiss]).tenders).toEqual([
      { currency: "CHF", tenderType: CARD, payments: 1n, amountMinor: 7n, tipMinor: 0n },
      // The void cancels the cash line to zero lines and zero, and the pair stays listed.
      { currency: "EUR", tenderType: CASH, payments: 0n, amountMinor: 0n, tipMinor: 0n },
      // 1200 − 1200 + 99 − 40; lines 1 − 1 + 1 + 1; tip 150 − 150.
      { currency: "EUR", tenderType: CARD, payments: 2n, amountMinor: 59n, tipMinor: 0n },
      { currency: "EUR", tenderType: GIFT_CARD, payments: 1n, amountMinor: 300n, tipMinor: 0n },
    ]);
  });

  it("compare tenders after the currencies, a pair one side lacks as zeros", () => {
    const { CASH, CARD } = TenderType;
    const counts = { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n };
    const gateway = {
      counts,
      currencies: [],
      tenders: [
        { ...emptyTender("USD", CARD), payments: 2n, amountMinor: 500n },
        { ...emptyTender("EUR", CASH), payments: 1n, amountMinor: 10n },
      ],
    };
    const server = {
      counts,
      currencies: [],
      tenders: [
        { ...emptyTender("EUR", CARD), payments: 1n, amountMinor: 3n, tipMinor: 1n },
        { ...emptyTender("USD", CARD), payments: 2n, amountMinor: 400n },
      ],
    };
    expect(compareZReports(gateway, server)).toEqual([
      { figure: "tenders.payments", currency: "EUR", tenderType: CASH, gateway: 1n, server: 0n },
      {
        figure: "tenders.amount_minor",
        currency: "EUR",
        tenderType: CASH,
        gateway: 10n,
        server: 0n,
      },
      { figure: "tenders.payments", currency: "EUR", tenderType: CARD, gateway: 0n, server: 1n },
      {
        figure: "tenders.amount_minor",
        currency: "EUR",
        tenderType: CARD,
        gateway: 0n,
        server: 3n,
      },
      { figure: "tenders.tip_minor", currency: "EUR", tenderType: CARD, gateway: 0n, server: 1n },
      {
        figure: "tenders.amount_minor",
        currency: "USD",
        tenderType: CARD,
        gateway: 500n,
        server: 400n,
      },
    ]);
  });

  it("name a tender figure's type on the wire and in a label, and read it back", () => {
    const d = {
      figure: "tenders.tip_minor",
      currency: "USD",
      tenderType: TenderType.MOBILE_WALLET,
      gateway: 1n,
      server: 2n,
    };
    expect(wireFigure(d)).toBe("tenders[TENDER_TYPE_MOBILE_WALLET].tip_minor");
    expect(fromWireFigure(wireFigure(d))).toEqual({
      figure: "tenders.tip_minor",
      tenderType: TenderType.MOBILE_WALLET,
    });
    expect(figureLabel(d)).toBe("tenders.tip_minor[USD MOBILE_WALLET]");
    // A type this build does not know travels as its number.
    const unknown = { ...d, tenderType: 42 as TenderType };
    expect(wireFigure(unknown)).toBe("tenders[42].tip_minor");
    expect(fromWireFigure("tenders[42].tip_minor")).toEqual({
      figure: "tenders.tip_minor",
      tenderType: 42,
    });
    // Every other figure is its name, unchanged both ways.
    const sales = { figure: "counts.sales", currency: "", gateway: 1n, server: 0n };
    expect(wireFigure(sales)).toBe("counts.sales");
    expect(fromWireFigure("currencies.tax_minor")).toEqual({ figure: "currencies.tax_minor" });
    expect(fromWireFigure("tenders[TENDER_TYPE_NONSENSE].tip_minor")).toEqual({
      figure: "tenders[TENDER_TYPE_NONSENSE].tip_minor",
    });
    expect(figureLabel({ ...sales, figure: "currencies.tax_minor", currency: "EUR" })).toBe(
      "currencies.tax_minor[EUR]",
    );
  });
});

describe("parseReconcileRequest", () => {
  const fields = (init: Parameters<typeof create<typeof ReconcileRequestSchema>>[1]) => {
    try {
      parseReconcileRequest(create(ReconcileRequestSchema, init));
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).violations.map((v) => v.field);
    }
    return [];
  };

  it("names what is missing", () => {
    expect(fields({})).toEqual(["scope", "figures"]);
    expect(fields({ scope: { locationId: "s" }, figures: {} })).toEqual(["scope.period"]);
    expect(
      fields({
        scope: { locationId: "s", period: { case: "occurred", value: {} } },
        figures: {},
      }),
    ).toEqual(["scope.occurred.start", "scope.occurred.end"]);
  });

  it("takes a day, a register and figures without counts (all zero)", () => {
    const parsed = parseReconcileRequest(
      create(ReconcileRequestSchema, {
        scope: {
          locationId: "s",
          registerId: "till-1",
          period: { case: "businessDay", value: "2026-11-30" },
        },
        figures: { currencies: [{ currency: "EUR", totalMinor: -3n }] },
      }),
    );
    expect(parsed.scope).toEqual({
      locationId: "s",
      registerId: "till-1",
      period: { businessDay: "2026-11-30" },
    });
    expect(parsed.figures.counts).toEqual({ sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n });
    expect(parsed.figures.currencies).toEqual([{ ...emptyCurrency("EUR"), totalMinor: -3n }]);
    expect(parsed.figures.tenders).toEqual([]);
  });

  it("takes tenders and refuses a bad currency, an unknown or repeated type, a huge count", () => {
    const tenders = (list: { currency: string; tenderType: number; payments?: bigint }[]) =>
      fields({
        scope: { locationId: "s", period: { case: "businessDay", value: "2026-11-30" } },
        figures: { tenders: list },
      });
    expect(
      tenders([
        { currency: "EUR", tenderType: TenderType.CARD, payments: -3n },
        { currency: "EUR", tenderType: TenderType.CASH },
        { currency: "USD", tenderType: TenderType.CARD },
      ]),
    ).toEqual([]);
    expect(
      tenders([
        { currency: "eur", tenderType: TenderType.CARD },
        { currency: "EUR", tenderType: 77 },
        { currency: "EUR", tenderType: TenderType.CASH },
        { currency: "EUR", tenderType: TenderType.CASH },
        { currency: "EUR", tenderType: TenderType.CARD, payments: -(10n ** 10n) },
      ]),
    ).toEqual([
      "figures.tenders[0].currency",
      "figures.tenders[1].tender_type",
      "figures.tenders[3].tender_type",
      "figures.tenders[4].payments",
    ]);
    const many = Array.from({ length: 121 }, () => ({ currency: "EUR", tenderType: 1 }));
    expect(tenders(many)).toEqual(["figures.tenders"]);
  });

  it("refuses days outside 2000-2099 and ranges of timestamps out of bounds", () => {
    const day = (value: string) =>
      fields({ scope: { locationId: "s", period: { case: "businessDay", value } }, figures: {} });
    expect(day("1999-12-31")).toEqual(["scope.business_day"]);
    expect(day("2100-01-01")).toEqual(["scope.business_day"]);
    expect(
      fields({
        scope: {
          locationId: "s",
          period: {
            case: "occurred",
            value: { start: { seconds: 0n }, end: { seconds: 1_000_000_000n, nanos: -1 } },
          },
        },
        figures: {},
      }),
    ).toEqual(["scope.occurred.start", "scope.occurred.end.nanos"]);
  });
});
