import { type RawBuilder, sql } from "kysely";
import type { ReconcileScope } from "./reconcile-model.js";

/**
 * The rows of one tenant's reconcile scope, as a `where` condition every reconcile statement
 * shares, so the figures, the key digests and the key pages are of the very same rows. It names
 * one tenant first (`tenant_id = $1`), so a tenant-distributed database routes it to one shard.
 *
 * The day is the `net_sales_daily` view's expression, written identically, so a reconciled day is
 * the report's day and the README's optional day index serves both.
 */
export function scopeCondition(tenantId: string, scope: ReconcileScope): RawBuilder<unknown> {
  const register =
    scope.registerId === undefined ? sql`` : sql`and register_id = ${scope.registerId}`;
  const period =
    "businessDay" in scope.period
      ? sql`and coalesce(business_day, (occurred_at at time zone 'UTC')::date) = ${scope.period.businessDay}::date`
      : sql`and occurred_at >= ${microsTimestamp(scope.period.startMicros)}
            and occurred_at < ${microsTimestamp(scope.period.endMicros)}`;
  return sql`tenant_id = ${tenantId} and location_id = ${scope.locationId} ${register} ${period}`;
}

/** A timestamptz parameter from microseconds since the epoch, exact (no float seconds). */
export function microsTimestamp(micros: bigint): RawBuilder<unknown> {
  return sql`(timestamptz 'epoch' + ${micros.toString()}::int8 * interval '1 microsecond')`;
}

/**
 * h(key) of the key digest (proto `KeyDigest`): the first 8 bytes of SHA-256 of the key, as a
 * signed int8. Sums of it are reduced mod 2^64 by the reader, which makes signed and unsigned
 * readings of the same bytes agree.
 */
export const KEY_HASH = sql`('x' || encode(substr(sha256(convert_to(idempotency_key, 'UTF8')), 1, 8), 'hex'))::bit(64)::int8`;
