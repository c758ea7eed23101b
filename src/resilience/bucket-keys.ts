import type { RateLimit } from "../config/resilience.js";

/** A tenant's two budgets: the sustained rate and the burst allowance. */
export type BucketKind = "rate" | "burst";

/**
 * The keyPrefix a limiter for `kind` of `limit` is built with. Limits with other numbers get
 * other keys, so a changed override starts from a fresh bucket instead of a misread one. It holds
 * no `{`: Redis would take the first `{…}` of the whole key as its hash tag.
 */
export function bucketKeyPrefix(kind: BucketKind, limit: RateLimit): string {
  return `pos-ingest:${kind}:${limit.recordsPerSecond}:${limit.burst}`;
}

/**
 * The key a tenant's buckets are consumed under: its id as a Redis Cluster hash tag, `{acme}`.
 * rate-limiter-flexible stores a bucket at `${keyPrefix}:${key}`, and a cluster places a key by
 * the text inside its first `{…}` only, so the tenant's rate and burst buckets (and those of any
 * other limit it is moved to) share one slot, while tenants spread over the slots.
 *
 * Tenant ids are made to match TENANT_ID_PATTERN, which has no braces; a row written some other
 * way might. `{`, `}` and `%` are therefore percent-encoded, so the tag always ends at the
 * tenant's own end and two ids never share a key. An empty id (no tenant has one) would make `{}`,
 * which Redis ignores as a tag, so it becomes `%`, which no encoded id can be.
 */
export function tenantBucketKey(tenantId: string): string {
  const safe = tenantId.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `{${safe === "" ? "%" : safe}}`;
}

/** The full Redis key of a tenant's bucket, as rate-limiter-flexible composes it. */
export function bucketKey(kind: BucketKind, limit: RateLimit, tenantId: string): string {
  return `${bucketKeyPrefix(kind, limit)}:${tenantBucketKey(tenantId)}`;
}
