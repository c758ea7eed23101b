/**
 * The key digest of reconciliation (proto `KeyDigest`): a set of idempotency keys summarised as
 * its count and Σ h(key) mod 2^64, h = the first 8 bytes of SHA-256 of the key read big-endian.
 * A sum, not a hash of the concatenation: it is order-free, so either side computes it from an
 * unsorted set, and the digests of ranges that split a range add up to the range's, which is what
 * lets a gateway bisect its day. The server computes h in SQL (src/ingest/reconcile-scope-sql.ts),
 * the client in src/client/key-digest.ts; test/e2e/reconcile-keys.test.ts holds them equal.
 * Browser-safe: types and arithmetic only.
 */

/** A set of keys, summarised. */
export interface KeyDigest {
  readonly count: bigint;
  /** Σ h(key) mod 2^64. */
  readonly digest: bigint;
}

/** A half-open range of keys in byte order, `from <= key < to`; "" as `to` is the end. */
export interface KeyRange {
  readonly from: string;
  readonly to: string;
}

/** Whether two digests summarise (up to a 2^-64 chance) the same set. */
export function sameDigest(a: KeyDigest, b: KeyDigest): boolean {
  return a.count === b.count && a.digest === b.digest;
}

/** Whether `key` lies in `range` (byte order; keys are printable ASCII, so UTF-16 order is it). */
export function inRange(key: string, range: KeyRange): boolean {
  return key >= range.from && (range.to === "" || key < range.to);
}

/** Most ranges in one DigestKeys request. */
export const MAX_DIGEST_RANGES = 64;
/** Most keys in one ListKeys page. */
export const MAX_KEY_PAGE = 1000;
