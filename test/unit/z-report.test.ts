import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ReconcileRequestSchema } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import {
  compareZReports,
  emptyCurrency,
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
    };
    const server = {
      counts: { ...base.counts, sales: 1n },
      currencies: [{ ...emptyCurrency("EUR"), totalMinor: 7n, transactions: 1n }],
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
