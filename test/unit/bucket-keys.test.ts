import { createRequire } from "node:module";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { TENANT_ID_PATTERN } from "../../src/auth/api-key.js";
import { bucketKey, bucketKeyPrefix, tenantBucketKey } from "../../src/resilience/bucket-keys.js";

// The slot function ioredis's Cluster routes commands by (its own dependency, pinned to the same
// version as a dev dependency so this test does not lean on hoisting): what decides which node
// holds a key. The e2e test checks the same against a real cluster's CLUSTER KEYSLOT.
const slotOf = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number;

const limit = { recordsPerSecond: 100, burst: 40 };

describe("rate-limit bucket keys", () => {
  it("are what rate-limiter-flexible stores under a prefix and a key", () => {
    for (const kind of ["rate", "burst"] as const) {
      const limiter = new RateLimiterMemory({
        points: 1,
        duration: 1,
        keyPrefix: bucketKeyPrefix(kind, limit),
      });
      expect(limiter.getKey(tenantBucketKey("acme"))).toBe(bucketKey(kind, limit, "acme"));
    }
    expect(bucketKey("rate", limit, "acme")).toBe("pos-ingest:rate:100:40:{acme}");
    expect(bucketKey("burst", limit, "acme")).toBe("pos-ingest:burst:100:40:{acme}");
  });

  it("put a tenant's rate and burst buckets, under any limit, in one slot", () => {
    const other = { recordsPerSecond: 5, burst: 0 };
    for (const tenant of ["acme", "globex", "a", "0-9_x", "z".repeat(63)]) {
      const slot = slotOf(bucketKey("rate", limit, tenant));
      expect(slotOf(bucketKey("burst", limit, tenant))).toBe(slot);
      expect(slotOf(bucketKey("rate", other, tenant))).toBe(slot);
      // The slot is the tag's alone: the tenant id's own slot.
      expect(slot).toBe(slotOf(tenant));
    }
  });

  it("spread tenants over the slots", () => {
    const slots = new Set<number>();
    const thirds: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 1_000; i++) {
      const slot = slotOf(bucketKey("rate", limit, `tenant-${i}`));
      slots.add(slot);
      // Three masters split the 16384 slots in thirds, as `redis-cli --cluster create` does.
      thirds[Math.min(2, Math.floor(slot / 5462)) as 0 | 1 | 2]++;
    }
    expect(slots.size).toBeGreaterThan(950);
    for (const n of thirds) expect(n).toBeGreaterThan(250);
  });

  it("keep the tag to the tenant id when the id holds braces or percent signs", () => {
    // TENANT_ID_PATTERN allows none of these, but a row made outside the key service might.
    expect(TENANT_ID_PATTERN.test("a{b}")).toBe(false);
    const odd = ["a{b}", "}x", "{", "a%7Bb}", "%", "a}b{c", ""];
    const keys = odd.map(tenantBucketKey);
    for (const [i, key] of keys.entries()) {
      // One tag, non-empty: first "{" at the start, its first "}" at the end, none in between.
      expect(key.startsWith("{")).toBe(true);
      expect(key.indexOf("}")).toBe(key.length - 1);
      expect(key.slice(1, -1)).not.toMatch(/[{}]/);
      expect(key.length).toBeGreaterThan(2);
      const id = odd[i] as string;
      expect(slotOf(bucketKey("burst", limit, id))).toBe(slotOf(bucketKey("rate", limit, id)));
    }
    // Two ids never share a key.
    expect(new Set(keys).size).toBe(odd.length);
    expect(tenantBucketKey("a{b}")).toBe("{a%7Bb%7D}");
    expect(tenantBucketKey("acme")).toBe("{acme}");
  });
});
