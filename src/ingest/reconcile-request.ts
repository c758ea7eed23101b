import type { ReconcileRequest } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { currencyExponent } from "../contract/iso4217.js";
import type { KeyDigest } from "../contract/key-digest.js";
import { MIN_OCCURRED_AT_SECONDS } from "../contract/limits.js";
import { Violations } from "../contract/violations.js";
import type { ZReport, ZReportCurrency, ZReportTender } from "../contract/z-report.js";
import { ValidationError } from "../errors.js";
import type { ReconcilePeriod, ReconcileScope } from "./reconcile-model.js";

/** The longest `occurred` range: a month of a store's days, not its history. */
export const MAX_RECONCILE_RANGE_DAYS = 31;
/** Currencies in one request's figures: more than any real store takes in a day. */
export const MAX_RECONCILE_CURRENCIES = 20;
/** Tender entries in one request: every tender type of every currency allowed. */
export const MAX_RECONCILE_TENDERS = 120;
/** A count beyond this (a billion transactions in one scope) is a bug, not a store's day. */
export const MAX_RECONCILE_COUNT = 1_000_000_000n;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MICROS = 86_400_000_000n;
/** Days before 2000 are an unset POS clock (as for occurred_at), after 2099 a typo. */
const FIRST_DAY = "2000-01-01";
const LAST_DAY = "2099-12-31";
const MAX_SECONDS = 4_102_444_800n; // 2100-01-01T00:00:00Z

/** A reconcile request as the service takes it. */
export interface ParsedReconcile {
  readonly scope: ReconcileScope;
  readonly figures: ZReport;
  /** The digest of the gateway's keys; undefined: not sent, the figures alone decide. */
  readonly keys: KeyDigest | undefined;
}

/**
 * Validates a Reconcile request and maps it to the domain, the handler's half of the work.
 *
 * @throws ValidationError naming every offending field (INVALID_ARGUMENT with a BadRequest).
 */
export function parseReconcileRequest(request: ReconcileRequest): ParsedReconcile {
  const v = new Violations();
  const scope = scopeOf(request.scope, v);
  const f = request.figures;
  if (!f) v.add("figures", "is required");
  else {
    const c = f.counts;
    if (c) {
      count(v, "figures.counts.sales", c.sales);
      count(v, "figures.counts.returns", c.returns);
      count(v, "figures.counts.exchanges", c.exchanges);
      count(v, "figures.counts.post_voids", c.postVoids);
    }
    if (f.currencies.length > MAX_RECONCILE_CURRENCIES) {
      v.add("figures.currencies", `must hold at most ${MAX_RECONCILE_CURRENCIES} currencies`);
    } else {
      const seen = new Set<string>();
      f.currencies.forEach((cur, i) => {
        const field = `figures.currencies[${i}]`;
        if (!/^[A-Z]{3}$/.test(cur.currency) || currencyExponent(cur.currency) === undefined) {
          v.add(`${field}.currency`, "must be an ISO 4217 alphabetic code such as EUR");
        } else if (seen.has(cur.currency)) {
          v.add(`${field}.currency`, `${cur.currency} is listed twice; send each currency once`);
        }
        seen.add(cur.currency);
        count(v, `${field}.transactions`, cur.transactions);
      });
    }
    if (f.tenders.length > MAX_RECONCILE_TENDERS) {
      v.add("figures.tenders", `must hold at most ${MAX_RECONCILE_TENDERS} entries`);
    } else {
      const seen = new Set<string>();
      f.tenders.forEach((t, i) => {
        const field = `figures.tenders[${i}]`;
        if (!/^[A-Z]{3}$/.test(t.currency) || currencyExponent(t.currency) === undefined) {
          v.add(`${field}.currency`, "must be an ISO 4217 alphabetic code such as EUR");
        }
        // UNSPECIFIED included: a sale stored before validation required a type may hold it.
        if (!(t.tenderType in TenderType)) {
          v.add(`${field}.tender_type`, "must be a tender type of pos.ingest.v1.TenderType");
        } else if (seen.has(`${t.currency} ${t.tenderType}`)) {
          v.add(`${field}.tender_type`, "is listed twice for its currency; send each pair once");
        }
        seen.add(`${t.currency} ${t.tenderType}`);
        // Signed: a day of refunds counts below zero.
        if (t.payments > MAX_RECONCILE_COUNT || t.payments < -MAX_RECONCILE_COUNT) {
          v.add(
            `${field}.payments`,
            `must be between -${MAX_RECONCILE_COUNT} and ${MAX_RECONCILE_COUNT}`,
          );
        }
      });
    }
  }
  if (request.keys && request.keys.count > MAX_RECONCILE_COUNT) {
    v.add("keys.count", `must be at most ${MAX_RECONCILE_COUNT}`);
  }
  if (v.count > 0 || !scope || !f) throw new ValidationError(v.list);
  const c = f.counts;
  return {
    scope,
    keys: request.keys ? { count: request.keys.count, digest: request.keys.digest } : undefined,
    figures: {
      counts: {
        sales: c?.sales ?? 0n,
        returns: c?.returns ?? 0n,
        exchanges: c?.exchanges ?? 0n,
        postVoids: c?.postVoids ?? 0n,
      },
      currencies: f.currencies.map(
        (cur): ZReportCurrency => ({
          currency: cur.currency,
          grossMinor: cur.grossMinor,
          discountMinor: cur.discountMinor,
          serviceChargeMinor: cur.serviceChargeMinor,
          taxMinor: cur.taxMinor,
          includedTaxMinor: cur.includedTaxMinor,
          roundingMinor: cur.roundingMinor,
          tipMinor: cur.tipMinor,
          netMinor: cur.netMinor,
          totalMinor: cur.totalMinor,
          transactions: cur.transactions,
        }),
      ),
      tenders: f.tenders.map(
        (t): ZReportTender => ({
          currency: t.currency,
          tenderType: t.tenderType,
          payments: t.payments,
          amountMinor: t.amountMinor,
          tipMinor: t.tipMinor,
        }),
      ),
    },
  };
}

/**
 * The scope of any reconcile request, validated into `v` (fields named `scope.*`); undefined
 * when it is not valid.
 */
export function scopeOf(s: WireScope | undefined, v: Violations): ReconcileScope | undefined {
  if (!s) {
    v.add("scope", "is required");
    return undefined;
  }
  const before = v.count;
  v.text("scope.location_id", s.locationId, 1, 128);
  if (s.registerId !== "") v.text("scope.register_id", s.registerId, 1, 128);
  const period = periodOf(s.period, v);
  if (v.count > before || !period) return undefined;
  return {
    locationId: s.locationId,
    registerId: s.registerId === "" ? undefined : s.registerId,
    period,
  };
}

type WireScope = NonNullable<ReconcileRequest["scope"]>;

function periodOf(period: WireScope["period"], v: Violations): ReconcilePeriod | undefined {
  if (period.case === "businessDay") {
    const day = period.value;
    if (!isCalendarDate(day)) {
      v.add("scope.business_day", "must be a calendar date, YYYY-MM-DD");
      return undefined;
    }
    if (day < FIRST_DAY || day > LAST_DAY) {
      v.add("scope.business_day", `must be between ${FIRST_DAY} and ${LAST_DAY}`);
      return undefined;
    }
    return { businessDay: day };
  }
  if (period.case === "occurred") {
    const start = micros(v, "scope.occurred.start", period.value.start);
    const end = micros(v, "scope.occurred.end", period.value.end);
    if (start === undefined || end === undefined) return undefined;
    if (end <= start) {
      v.add("scope.occurred.end", "must be after scope.occurred.start");
      return undefined;
    }
    if (end - start > BigInt(MAX_RECONCILE_RANGE_DAYS) * DAY_MICROS) {
      v.add("scope.occurred.end", `must be at most ${MAX_RECONCILE_RANGE_DAYS} days after start`);
      return undefined;
    }
    return { startMicros: start, endMicros: end };
  }
  v.add("scope.period", "is required: a business_day or an occurred range");
  return undefined;
}

/**
 * Microseconds of a timestamp within the service's range (2000-2100), validated into `v`
 * under `field`; undefined when absent or invalid (absent adds "is required").
 */
export function micros(
  v: Violations,
  field: string,
  ts: { seconds: bigint; nanos: number } | undefined,
): bigint | undefined {
  if (!ts) {
    v.add(field, "is required");
    return undefined;
  }
  if (ts.nanos < 0 || ts.nanos > 999_999_999) {
    v.add(`${field}.nanos`, "must be 0 to 999999999");
    return undefined;
  }
  if (ts.seconds < MIN_OCCURRED_AT_SECONDS || ts.seconds > MAX_SECONDS) {
    v.add(field, "must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z");
    return undefined;
  }
  // Microseconds, PostgreSQL's precision: nanoseconds below one are dropped, as Ingest does.
  return ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000));
}

function count(v: Violations, field: string, value: bigint): void {
  if (value > MAX_RECONCILE_COUNT) v.add(field, `must be at most ${MAX_RECONCILE_COUNT}`);
}

/** "YYYY-MM-DD" naming a real date (2026-02-30 is not one). */
function isCalendarDate(day: string): boolean {
  const m = DAY.exec(day);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}
