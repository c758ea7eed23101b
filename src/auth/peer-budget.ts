import { isIPv4, isIPv6 } from "node:net";
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

/**
 * The address a budget is kept for, from grpc-js's `call.getPeer()` ("1.2.3.4:5678",
 * "2001:db8::1:5678", no brackets). The port is dropped: a client opens a new connection, and a
 * new port, whenever it likes. IPv4-mapped IPv6 is read as IPv4. IPv6 is keyed by its /64, the
 * block one host or one site is usually given, so rotating addresses within it gains nothing.
 */
export function peerAddress(peer: string): string {
  const cut = peer.lastIndexOf(":");
  const withoutPort = cut > 0 && /^\d+$/.test(peer.slice(cut + 1)) ? peer.slice(0, cut) : peer;
  const address = isIPv4(withoutPort) || isIPv6(withoutPort) ? withoutPort : peer;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address) || address.includes(".")) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
