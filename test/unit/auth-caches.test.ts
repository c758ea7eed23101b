import { describe, expect, it } from "vitest";
import { BoundedLru } from "../../src/auth/bounded-lru.js";
import { clientAddress, trustedProxies } from "../../src/auth/client-address.js";
import { createKeyCache } from "../../src/auth/key-cache.js";
import { createPeerBudget } from "../../src/auth/peer-budget.js";

describe("key cache", () => {
  const make = (now: () => number, maxValid = 3) =>
    createKeyCache<string>({ maxValid, maxUnknown: 5, validTtlMs: 1_000, unknownTtlMs: 100, now });

  it("keeps every valid key however many unknown keys come after", () => {
    const cache = make(() => 0);
    cache.rememberValid("real-1", "acme");
    cache.rememberValid("real-2", "globex");
    for (let i = 0; i < 100_000; i++) cache.rememberUnknown(`random-${i}`);
    expect(cache.valid("real-1")).toEqual({ principal: "acme", fresh: true });
    expect(cache.valid("real-2")).toEqual({ principal: "globex", fresh: true });
    // The unknown space stays at its bound and holds the newest.
    expect(cache.isUnknown("random-99999")).toBe(true);
    expect(cache.isUnknown("random-0")).toBe(false);
  });

  it("drops the least recently used valid key when valid keys alone exceed the bound", () => {
    const cache = make(() => 0);
    for (const k of ["a", "b", "c"]) cache.rememberValid(k, k);
    cache.valid("a");
    cache.rememberValid("d", "d");
    expect(cache.valid("b")).toBeUndefined();
    expect(cache.valid("a")).toBeDefined();
    expect(cache.valid("c")).toBeDefined();
    expect(cache.valid("d")).toBeDefined();
  });

  it("marks a valid key stale after its TTL, and forgets it once found unknown (revoked)", () => {
    let now = 0;
    const cache = make(() => now);
    cache.rememberValid("k", "acme");
    now = 999;
    expect(cache.valid("k")?.fresh).toBe(true);
    now = 1_000;
    expect(cache.valid("k")).toEqual({ principal: "acme", fresh: false });
    cache.rememberUnknown("k");
    expect(cache.valid("k")).toBeUndefined();
    expect(cache.isUnknown("k")).toBe(true);
    now = 1_100;
    expect(cache.isUnknown("k")).toBe(false);
  });

  it("remembers no unknown key when its TTL is 0", () => {
    const cache = createKeyCache<string>({
      maxValid: 2,
      maxUnknown: 2,
      validTtlMs: 0,
      unknownTtlMs: 0,
      now: () => 0,
    });
    cache.rememberUnknown("x");
    expect(cache.isUnknown("x")).toBe(false);
    cache.rememberValid("v", "acme");
    expect(cache.valid("v")).toEqual({ principal: "acme", fresh: false });
  });

  it("bounds an LRU at its size", () => {
    const lru = new BoundedLru<number, number>(10);
    for (let i = 0; i < 1_000; i++) lru.set(i, i);
    expect(lru.size).toBe(10);
    expect(lru.has(990)).toBe(true);
    expect(lru.has(989)).toBe(false);
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });
});

describe("peer budget", () => {
  it("gives a burst, then the delay until the next token, then refills at the rate", () => {
    let now = 0;
    const budget = createPeerBudget({ burst: 3, perMinute: 60, maxPeers: 10, now: () => now });
    for (let i = 0; i < 3; i++) expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBe(1_000);
    now = 400;
    expect(budget.take("a")).toBe(600);
    // Another address has its own bucket.
    expect(budget.take("b")).toBeUndefined();
    now = 1_000;
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBe(1_000);
    now = 1_000_000;
    for (let i = 0; i < 3; i++) expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBeGreaterThan(0);
  });

  it("gives back a refunded token, never above the burst", () => {
    const budget = createPeerBudget({ burst: 2, perMinute: 1, maxPeers: 10, now: () => 0 });
    budget.refund("a");
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBeGreaterThan(0);
    budget.refund("a");
    expect(budget.take("a")).toBeUndefined();
  });

  it("tracks at most maxPeers addresses", () => {
    const budget = createPeerBudget({ burst: 1, perMinute: 1, maxPeers: 2, now: () => 0 });
    budget.take("a");
    budget.take("b");
    budget.take("c");
    // "a" was dropped to make room, and starts again with a full bucket.
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("c")).toBeGreaterThan(0);
  });
});

describe("clientAddress", () => {
  const none = trustedProxies([]);
  it.each([
    ["127.0.0.1:54321", "127.0.0.1"],
    ["10.1.2.3:1", "10.1.2.3"],
    ["::ffff:192.0.2.7:443", "192.0.2.7"],
    ["::1:50000", "0:0:0:0::/64"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd:8080", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::1:8080", "2001:db8:1:2::/64"],
    // The last group is always the port, even where the rest would read as an address with it.
    ["2001:db8::7:9", "2001:db8:0:0::/64"],
    ["unknown", "unknown"],
  ])("reads the peer %j as %j", (peer, expected) => {
    expect(clientAddress({ peer }, none)).toBe(expected);
  });

  const proxies = trustedProxies(["10.0.0.0/8", "fd00::/8"]);
  it.each([
    ["a proxy's client", "10.0.0.5:1", "198.51.100.7", "198.51.100.7"],
    [
      "the right-most untrusted hop",
      "10.0.0.5:1",
      "1.1.1.1, 198.51.100.7, 10.9.9.9",
      "198.51.100.7",
    ],
    ["a hop with a port", "10.0.0.5:1", "198.51.100.7:5555", "198.51.100.7"],
    ["a bracketed IPv6 hop", "10.0.0.5:1", "[2001:db8:5:6::1]:443", "2001:db8:5:6::/64"],
    ["an IPv6 proxy", "fd00::9:443", "203.0.113.1", "203.0.113.1"],
    ["a peer that is not a proxy (spoofing)", "198.51.100.1:1", "10.0.0.1", "198.51.100.1"],
    ["a proxy without the header", "10.0.0.5:1", undefined, "10.0.0.5"],
    ["garbage left of the client", "10.0.0.5:1", "nonsense, 198.51.100.7", "198.51.100.7"],
    ["garbage as the last hop", "10.0.0.5:1", "198.51.100.7, nonsense", "10.0.0.5"],
    ["only proxies", "10.0.0.5:1", "10.1.1.1, 10.2.2.2", "10.1.1.1"],
  ])("takes %s", (_what, peer, forwardedFor, expected) => {
    expect(clientAddress({ peer, forwardedFor }, proxies)).toBe(expected);
  });

  it.each(["10.0.0.0/33", "proxy.internal", "10.0.0.0/8/1", "10.0.0.0/x", ""])(
    "refuses the trusted proxy entry %j",
    (entry) => {
      expect(() => trustedProxies([entry])).toThrow(RangeError);
    },
  );
});
