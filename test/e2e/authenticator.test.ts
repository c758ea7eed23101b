import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintApiKey } from "../../src/auth/api-key.js";
import { type AuthFailure, createAuthenticator } from "../../src/auth/authenticator.js";
import { revokeApiKey } from "../../src/auth/key-repository.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { AuthenticationError, AuthThrottledError } from "../../src/errors.js";
import { queryOperation } from "../../src/observability/metrics.js";
import { createDatabase, type DatabaseHandle } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// The authenticator on real PostgreSQL, counting the key lookups it sends, with a clock the test
// moves: which calls cost a query, which are throttled, and what a throttled address keeps.

let testDb: TestDatabase;
let database: DatabaseHandle;
let lookups = 0;

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ kind: "postgres", url: testDb.url, poolMax: 4 }, (text) => {
    if (queryOperation(text) === "select_api_keys") lookups++;
  });
  await migrateToLatest(database.db);
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

function setup(options: { ttlSeconds?: number; burst?: number; trustedProxies?: string[] } = {}) {
  const clock = { now: 1_000_000 };
  const failures: AuthFailure[] = [];
  const authenticator = createAuthenticator({
    db: database.db,
    ttlSeconds: options.ttlSeconds ?? 30,
    maxCachedKeys: 100,
    peerBudget: { burst: options.burst ?? 5, perMinute: 60 },
    trustedProxies: options.trustedProxies ?? [],
    now: () => clock.now,
    onFailure: (reason) => failures.push(reason),
  });
  return { authenticator, clock, failures };
}

const bearer = (token: string) => `Bearer ${token}`;
const NAT = { peer: "203.0.113.9:40000" };

async function errorOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

/** Spends `peer`'s budget with random keys; each of the first `burst` costs one lookup. */
async function exhaust(
  authenticator: ReturnType<typeof setup>["authenticator"],
  peer: { peer: string; forwardedFor?: string },
  burst: number,
): Promise<void> {
  for (let i = 0; i < burst; i++) {
    expect(
      await errorOf(authenticator.authenticate(bearer(mintApiKey().token), peer)),
    ).toBeInstanceOf(AuthenticationError);
  }
}

describe("authenticator", () => {
  it("throttles an address after its burst of unknown keys, without queries, and keeps others apart", async () => {
    const { authenticator, failures } = setup({ burst: 5 });
    const before = lookups;
    await exhaust(authenticator, NAT, 5);
    expect(lookups - before).toBe(5);
    const floods = await Promise.all(
      Array.from({ length: 1_000 }, () =>
        errorOf(
          authenticator.authenticate(bearer(mintApiKey().token), { peer: "203.0.113.9:40001" }),
        ),
      ),
    );
    expect(lookups - before).toBe(5);
    for (const err of floods) {
      expect(err).toBeInstanceOf(AuthThrottledError);
      expect((err as AuthThrottledError).retryAfterMs).toBeGreaterThan(0);
      expect((err as AuthThrottledError).retryAfterMs).toBeLessThanOrEqual(1_000);
    }
    expect(failures.filter((f) => f === "throttled")).toHaveLength(1_000);
    // Another address still has its whole budget.
    expect(
      await errorOf(
        authenticator.authenticate(bearer(mintApiKey().token), { peer: "198.51.100.1:1" }),
      ),
    ).toBeInstanceOf(AuthenticationError);
    expect(lookups - before).toBe(6);
  });

  it("serves a throttled address's cached keys, and re-checks its stale ones without throttling", async () => {
    const { authenticator, clock } = setup({ burst: 3, ttlSeconds: 30 });
    const till = await createApiKey(database.db, "nat-store");
    expect((await authenticator.authenticate(bearer(till.token), NAT)).tenantId).toBe("nat-store");
    await exhaust(authenticator, NAT, 3);
    const before = lookups;
    expect((await authenticator.authenticate(bearer(till.token), NAT)).keyId).toBe(till.id);
    expect(lookups).toBe(before);
    // Past the TTL the key is checked again (a revocation must bite), throttled address or not.
    clock.now += 30_000;
    expect((await authenticator.authenticate(bearer(till.token), NAT)).keyId).toBe(till.id);
    expect(lookups).toBe(before + 1);
    await revokeApiKey(database.db, till.id);
    clock.now += 30_000;
    expect(await errorOf(authenticator.authenticate(bearer(till.token), NAT))).toBeInstanceOf(
      AuthenticationError,
    );
    expect(lookups).toBe(before + 2);
  });

  it("throttles a key never seen from a throttled address, which cannot be told from a guess", async () => {
    const { authenticator } = setup({ burst: 2 });
    const newTill = await createApiKey(database.db, "nat-store");
    await exhaust(authenticator, NAT, 2);
    expect(await errorOf(authenticator.authenticate(bearer(newTill.token), NAT))).toBeInstanceOf(
      AuthThrottledError,
    );
  });

  it("does not count a first-time valid key against the address", async () => {
    const { authenticator } = setup({ burst: 2 });
    for (let i = 0; i < 5; i++) {
      const key = await createApiKey(database.db, "many-tills");
      expect((await authenticator.authenticate(bearer(key.token), NAT)).keyId).toBe(key.id);
    }
    await exhaust(authenticator, NAT, 2);
  });

  it("answers a repeated unknown key from the cache, and shares one lookup among concurrent calls", async () => {
    const { authenticator } = setup({ burst: 2 });
    const bad = mintApiKey().token;
    const before = lookups;
    const all = await Promise.all(
      Array.from({ length: 50 }, () => errorOf(authenticator.authenticate(bearer(bad), NAT))),
    );
    for (const err of all) expect(err).toBeInstanceOf(AuthenticationError);
    for (let i = 0; i < 50; i++) {
      expect(await errorOf(authenticator.authenticate(bearer(bad), NAT))).toBeInstanceOf(
        AuthenticationError,
      );
    }
    expect(lookups - before).toBe(1);
    // One token spent, one left.
    await exhaust(authenticator, NAT, 1);
    expect(
      await errorOf(authenticator.authenticate(bearer(mintApiKey().token), NAT)),
    ).toBeInstanceOf(AuthThrottledError);
  });

  it("keeps a budget per client behind a trusted proxy, and ignores the header from anyone else", async () => {
    const { authenticator } = setup({ burst: 2, trustedProxies: ["10.0.0.0/8"] });
    const viaProxy = (client: string) => ({ peer: "10.0.0.7:3000", forwardedFor: client });
    await exhaust(authenticator, viaProxy("198.51.100.7"), 2);
    expect(
      await errorOf(
        authenticator.authenticate(bearer(mintApiKey().token), viaProxy("198.51.100.7")),
      ),
    ).toBeInstanceOf(AuthThrottledError);
    // Another client of the same proxy has its own budget.
    await exhaust(authenticator, viaProxy("198.51.100.8"), 2);
    // A client talking directly cannot choose a fresh budget by writing the header itself.
    const direct = (forged: string) => ({ peer: "192.0.2.50:1", forwardedFor: forged });
    await exhaust(authenticator, direct("203.0.113.1"), 2);
    expect(
      await errorOf(authenticator.authenticate(bearer(mintApiKey().token), direct("203.0.113.2"))),
    ).toBeInstanceOf(AuthThrottledError);
  });

  it.each([
    ["missing", undefined],
    ["malformed", "Basic abc"],
    ["malformed", "Bearer not-a-key"],
  ] as const)("counts %s credentials without a lookup or a charge", async (reason, header) => {
    const { authenticator, failures } = setup({ burst: 1 });
    const before = lookups;
    for (let i = 0; i < 10; i++) {
      expect(await errorOf(authenticator.authenticate(header, NAT))).toBeInstanceOf(
        AuthenticationError,
      );
    }
    expect(lookups).toBe(before);
    expect(failures).toEqual(Array(10).fill(reason));
    await exhaust(authenticator, NAT, 1);
  });
});
