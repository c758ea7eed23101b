import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { mintApiKey } from "../../src/auth/api-key.js";
import { type AuthFailure, createAuthenticator } from "../../src/auth/authenticator.js";
import type { CallOrigin } from "../../src/auth/client-address.js";
import { ensureTenant, insertApiKey, revokeApiKey } from "../../src/auth/key-repository.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { AuthenticationError, AuthThrottledError } from "../../src/errors.js";
import type { Database } from "../../src/storage/database.js";
import { useMigratedDatabase } from "../support/migrated-database.js";

// The authenticator on an embedded database with a clock the test moves: which calls cost a key
// lookup (counted through the `guard` every lookup runs under), when a cached answer expires, and
// how an address's failure budget drains and refills. No waiting: time passes when the test says.

const TTL_SECONDS = 30;
/** The authenticator's fixed TTL for unknown keys (authenticator.ts, UNKNOWN_TTL_MS). */
const UNKNOWN_TTL_MS = 5_000;
const TILL: CallOrigin = { peer: "198.51.100.7:41000" };
const OTHER: CallOrigin = { peer: "198.51.100.8:41000" };
const bearer = (token: string) => `Bearer ${token}`;

async function errorOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

describe("authenticator with a clock", () => {
  let db: Kysely<Database>;
  useMigratedDatabase("pglite", (handle) => {
    db = handle.db;
  });

  function setup(options: { ttlSeconds?: number; burst?: number; perMinute?: number } = {}) {
    const clock = { t: 1_000_000 };
    const counts = { lookups: 0 };
    const failures: AuthFailure[] = [];
    const authenticator = createAuthenticator({
      db,
      ttlSeconds: options.ttlSeconds ?? TTL_SECONDS,
      maxCachedKeys: 100,
      peerBudget: { burst: options.burst ?? 10, perMinute: options.perMinute ?? 60 },
      now: () => clock.t,
      guard: (operation) => {
        counts.lookups++;
        return operation();
      },
      onFailure: (reason) => failures.push(reason),
    });
    return { authenticator, clock, counts, failures };
  }

  it("looks a valid key up once, serves it from cache within the TTL, and again after it", async () => {
    const key = await createApiKey(db, "cached");
    const { authenticator, clock, counts } = setup();
    const principal = { tenantId: "cached", keyId: key.id };
    for (let i = 0; i < 5; i++) {
      expect(await authenticator.authenticate(bearer(key.token), TILL)).toEqual(principal);
    }
    expect(counts.lookups).toBe(1);

    clock.t += TTL_SECONDS * 1000 - 1;
    await authenticator.authenticate(bearer(key.token), OTHER);
    expect(counts.lookups).toBe(1);

    clock.t += 1;
    expect(await authenticator.authenticate(bearer(key.token), TILL)).toEqual(principal);
    expect(counts.lookups).toBe(2);
    // The re-check starts a new TTL.
    await authenticator.authenticate(bearer(key.token), TILL);
    expect(counts.lookups).toBe(2);
  });

  it("checks every call when the TTL is 0", async () => {
    const key = await createApiKey(db, "uncached");
    const { authenticator, counts } = setup({ ttlSeconds: 0 });
    await authenticator.authenticate(bearer(key.token), TILL);
    await authenticator.authenticate(bearer(key.token), TILL);
    expect(counts.lookups).toBe(2);
  });

  it("keeps serving a revoked key until its TTL passes, then refuses it", async () => {
    const key = await createApiKey(db, "revoked");
    const { authenticator, clock, counts, failures } = setup();
    await authenticator.authenticate(bearer(key.token), TILL);
    expect(await revokeApiKey(db, key.id)).toBe(true);

    clock.t += TTL_SECONDS * 1000 - 1;
    await expect(authenticator.authenticate(bearer(key.token), TILL)).resolves.toMatchObject({
      keyId: key.id,
    });
    clock.t += 1;
    const refused = await errorOf(authenticator.authenticate(bearer(key.token), TILL));
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect(failures).toEqual(["unknown"]);
    expect(counts.lookups).toBe(2);
    // Now it is an unknown key: refused from the cache, without a lookup.
    await expect(authenticator.authenticate(bearer(key.token), TILL)).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    expect(counts.lookups).toBe(2);
  });

  it("caches an unknown key's refusal for its own shorter TTL, so a new key is seen soon", async () => {
    const fresh = mintApiKey();
    const valid = await createApiKey(db, "shorter");
    const { authenticator, clock, counts, failures } = setup();
    await authenticator.authenticate(bearer(valid.token), TILL);
    for (let i = 0; i < 3; i++) {
      await expect(authenticator.authenticate(bearer(fresh.token), TILL)).rejects.toBeInstanceOf(
        AuthenticationError,
      );
    }
    expect(counts.lookups).toBe(2);
    expect(failures).toEqual(["unknown", "unknown", "unknown"]);

    // The key is created meanwhile; the cached refusal hides it until the unknown TTL passes.
    await ensureTenant(db, "shorter");
    await insertApiKey(db, { id: fresh.id, tenantId: "shorter", hash: fresh.hash });
    clock.t += UNKNOWN_TTL_MS - 1;
    await expect(authenticator.authenticate(bearer(fresh.token), TILL)).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    expect(counts.lookups).toBe(2);

    clock.t += 1;
    await expect(authenticator.authenticate(bearer(fresh.token), TILL)).resolves.toEqual({
      tenantId: "shorter",
      keyId: fresh.id,
    });
    // The valid key's longer TTL still holds at the same moment.
    await authenticator.authenticate(bearer(valid.token), TILL);
    expect(counts.lookups).toBe(3);
  });

  it("throttles an address after its burst of failed lookups and recovers as the clock moves", async () => {
    const valid = await createApiKey(db, "budget");
    // Burst 3, one token a second.
    const { authenticator, clock, counts, failures } = setup({ burst: 3, perMinute: 60 });
    await authenticator.authenticate(bearer(valid.token), TILL);
    const guesses = Array.from({ length: 8 }, () => mintApiKey().token);
    for (const guess of guesses.slice(0, 3)) {
      await expect(authenticator.authenticate(bearer(guess), TILL)).rejects.toBeInstanceOf(
        AuthenticationError,
      );
    }
    expect(counts.lookups).toBe(4);

    const throttled = await errorOf(authenticator.authenticate(bearer(guesses[3] as string), TILL));
    expect(throttled).toBeInstanceOf(AuthThrottledError);
    expect((throttled as AuthThrottledError).retryAfterMs).toBe(1_000);
    expect(counts.lookups).toBe(4);
    expect(failures).toEqual(["unknown", "unknown", "unknown", "throttled"]);
    // What is known costs no budget: the cached valid key, and a guess already refused.
    await expect(authenticator.authenticate(bearer(valid.token), TILL)).resolves.toMatchObject({
      tenantId: "budget",
    });
    const repeated = await errorOf(authenticator.authenticate(bearer(guesses[0] as string), TILL));
    expect(repeated).toBeInstanceOf(AuthenticationError);
    expect(repeated).not.toBeInstanceOf(AuthThrottledError);
    // Another address has a budget of its own.
    await expect(
      authenticator.authenticate(bearer(guesses[4] as string), OTHER),
    ).rejects.toBeInstanceOf(AuthenticationError);
    expect(counts.lookups).toBe(5);

    clock.t += 500;
    const still = await errorOf(authenticator.authenticate(bearer(guesses[5] as string), TILL));
    expect(still).toBeInstanceOf(AuthThrottledError);
    expect((still as AuthThrottledError).retryAfterMs).toBe(500);

    // One second after the burst ran out, one token is back: one lookup, then throttled again.
    clock.t += 500;
    await expect(
      authenticator.authenticate(bearer(guesses[5] as string), TILL),
    ).rejects.toBeInstanceOf(AuthenticationError);
    expect(counts.lookups).toBe(6);
    await expect(
      authenticator.authenticate(bearer(guesses[6] as string), TILL),
    ).rejects.toBeInstanceOf(AuthThrottledError);

    // Long enough to refill the whole burst, and never beyond it.
    clock.t += 60_000;
    for (const guess of Array.from({ length: 3 }, () => mintApiKey().token)) {
      await expect(authenticator.authenticate(bearer(guess), TILL)).rejects.toBeInstanceOf(
        AuthenticationError,
      );
    }
    await expect(
      authenticator.authenticate(bearer(guesses[7] as string), TILL),
    ).rejects.toBeInstanceOf(AuthThrottledError);
    expect(counts.lookups).toBe(9);
  });
});
