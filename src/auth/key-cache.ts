import { BoundedLru } from "./bounded-lru.js";

/** A cached valid key: `fresh` is false once its TTL has passed and it must be checked again. */
export interface ValidEntry<P> {
  readonly principal: P;
  readonly fresh: boolean;
}

/**
 * What the authenticator remembers about key hashes. Valid and unknown keys live in two separate
 * bounded structures, so no number of unknown keys can push a valid key out: a flood of random
 * keys only ever evicts other unknown keys.
 */
export interface KeyCache<P> {
  /** The valid key with this hash, fresh or stale; undefined if it was never seen valid. */
  valid(hash: string): ValidEntry<P> | undefined;
  /** True while this hash is remembered as matching no active key. */
  isUnknown(hash: string): boolean;
  rememberValid(hash: string, principal: P): void;
  /** Remembers the hash as unknown and forgets it as valid (a revoked key). */
  rememberUnknown(hash: string): void;
}

/**
 * Creates the two caches. A valid entry is trusted for `validTtlMs` (which bounds how late a
 * revocation bites) and then kept, stale, until the LRU drops it: a stale entry is re-checked on
 * its next use, and the authenticator knows the key was real, so that lookup is never throttled.
 * With `validTtlMs` 0 every use is re-checked. Unknown keys are remembered for `unknownTtlMs`
 * (0: not at all), so a till repeating a wrong key costs one lookup per TTL, not one per call.
 */
export function createKeyCache<P>(options: {
  maxValid: number;
  maxUnknown: number;
  validTtlMs: number;
  unknownTtlMs: number;
  now: () => number;
}): KeyCache<P> {
  const valid = new BoundedLru<string, { principal: P; expiresAt: number }>(options.maxValid);
  const unknown = new BoundedLru<string, number>(options.maxUnknown);
  return {
    valid(hash) {
      const entry = valid.get(hash);
      if (!entry) return undefined;
      return { principal: entry.principal, fresh: entry.expiresAt > options.now() };
    },
    isUnknown(hash) {
      const expiresAt = unknown.get(hash);
      if (expiresAt === undefined) return false;
      if (expiresAt > options.now()) return true;
      unknown.delete(hash);
      return false;
    },
    rememberValid(hash, principal) {
      unknown.delete(hash);
      valid.set(hash, { principal, expiresAt: options.now() + options.validTtlMs });
    },
    rememberUnknown(hash) {
      valid.delete(hash);
      if (options.unknownTtlMs > 0) unknown.set(hash, options.now() + options.unknownTtlMs);
    },
  };
}
