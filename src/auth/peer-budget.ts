import { BoundedLru } from "./bounded-lru.js";

/**
 * Per-peer budgets of key lookups that may fail: a token bucket per address, in memory, per
 * replica. Only lookups of keys not known to be valid draw on it, so a peer that guesses keys
 * is cut off without costing a query, while valid keys from the same address keep working.
 */
export interface PeerBudget {
  /** Takes one token for `peer`; undefined when taken, else the milliseconds until one is back. */
  take(peer: string): number | undefined;
  /** Gives back a token taken for a lookup that found a valid key. */
  refund(peer: string): void;
}

/**
 * Token buckets of `burst` tokens refilling at `perMinute`, for at most `maxPeers` addresses
 * (the least recently seen is dropped when full, and starts again with a full bucket if it
 * returns: memory stays bounded however many addresses a flood comes from).
 */
export function createPeerBudget(options: {
  burst: number;
  perMinute: number;
  maxPeers: number;
  now: () => number;
}): PeerBudget {
  const perMs = options.perMinute / 60_000;
  const buckets = new BoundedLru<string, { tokens: number; at: number }>(options.maxPeers);
  const current = (peer: string) => {
    const now = options.now();
    const bucket = buckets.get(peer) ?? { tokens: options.burst, at: now };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    buckets.set(peer, bucket);
    return bucket;
  };
  return {
    take(peer) {
      const bucket = current(peer);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs));
    },
    refund(peer) {
      const bucket = current(peer);
      bucket.tokens = Math.min(options.burst, bucket.tokens + 1);
    },
  };
}
