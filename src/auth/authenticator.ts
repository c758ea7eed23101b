import type { Kysely } from "kysely";
import { AuthenticationError, AuthThrottledError } from "../errors.js";
import type { Database } from "../storage/database.js";
import { hashApiKey, looksLikeApiKey } from "./api-key.js";
import { type CallOrigin, clientAddress, trustedProxies } from "./client-address.js";
import { createKeyCache } from "./key-cache.js";
import { findActiveKeyByHash } from "./key-repository.js";
import { createPeerBudget } from "./peer-budget.js";

/** Who is calling. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
}

/** Why an authentication failed, as counted in metrics. */
export type AuthFailure = "missing" | "malformed" | "unknown" | "throttled";

/** Resolves an `authorization` header value to a tenant. */
export interface Authenticator {
  /** `origin` names the address a failed lookup is charged to. */
  authenticate(authorization: string | undefined, origin: CallOrigin): Promise<Principal>;
}

/** Unknown keys remembered at once; they have their own space, so they never evict valid keys. */
const MAX_UNKNOWN = 10_000;
/** Long enough that a till repeating a wrong key costs one lookup per interval, not per call. */
const UNKNOWN_TTL_MS = 5_000;
/** Addresses with a failure budget at once; the least recently seen is dropped beyond this. */
const MAX_PEERS = 10_000;

/**
 * Authenticates bearer API keys against their stored hashes. Valid keys are cached for
 * `ttlSeconds` (a revoked key stops working within that time; 0 checks every call), in at most
 * `maxCachedKeys` entries of their own; unknown keys are cached briefly in a separate space. The
 * caches are keyed by the hash, so no token is kept in memory longer than the call.
 *
 * A lookup of a key not known to be valid draws on the calling address's budget (`peerBudget`);
 * once it is spent the call is refused RESOURCE_EXHAUSTED without a query. A key already
 * verified, fresh or due for its re-check, is never refused that way: a store behind one NAT
 * address keeps its working tills while a misconfigured one floods. A key never seen before from
 * a throttled address does wait, since nothing tells it apart from a guess without a query.
 */
export function createAuthenticator(deps: {
  db: Kysely<Database>;
  ttlSeconds: number;
  maxCachedKeys: number;
  peerBudget: { burst: number; perMinute: number };
  /** Proxies (addresses, CIDR blocks) whose `x-forwarded-for` names the client. */
  trustedProxies?: readonly string[];
  now?: () => number;
  /** Runs the key lookup under the database circuit breaker. */
  guard?: <T>(operation: () => Promise<T>) => Promise<T>;
  onFailure?: (reason: AuthFailure) => void;
}): Authenticator {
  const guard = deps.guard ?? ((operation) => operation());
  const now = deps.now ?? Date.now;
  const cache = createKeyCache<Principal>({
    maxValid: deps.maxCachedKeys,
    maxUnknown: MAX_UNKNOWN,
    validTtlMs: deps.ttlSeconds * 1000,
    // Disabling the cache (TTL 0) is for seeing every change at once, new keys included.
    unknownTtlMs: deps.ttlSeconds > 0 ? UNKNOWN_TTL_MS : 0,
    now,
  });
  const budget = createPeerBudget({ ...deps.peerBudget, maxPeers: MAX_PEERS, now });
  const isTrusted = trustedProxies(deps.trustedProxies ?? []);
  // Concurrent calls with one key share one lookup: a store's tills starting together cost one
  // query, and no call is charged for a lookup another call is already making.
  const inFlight = new Map<string, Promise<Principal | undefined>>();

  /** Counts the failure and hands back the error to throw. */
  const failed = (reason: AuthFailure, error: Error): Error => {
    deps.onFailure?.(reason);
    return error;
  };
  const lookup = (cacheKey: string, hash: Buffer): Promise<Principal | undefined> => {
    const running = inFlight.get(cacheKey);
    if (running) return running;
    const started = (async () => {
      try {
        const row = await guard(() => findActiveKeyByHash(deps.db, hash));
        const principal = row ? { tenantId: row.tenantId, keyId: row.id } : undefined;
        if (principal) cache.rememberValid(cacheKey, principal);
        else cache.rememberUnknown(cacheKey);
        return principal;
      } finally {
        inFlight.delete(cacheKey);
      }
    })();
    inFlight.set(cacheKey, started);
    return started;
  };

  return {
    async authenticate(authorization, origin) {
      if (!authorization) {
        throw failed(
          "missing",
          new AuthenticationError("missing authorization metadata: send 'Bearer <api key>'"),
        );
      }
      const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      if (!token) {
        throw failed(
          "malformed",
          new AuthenticationError("authorization must be 'Bearer <api key>'"),
        );
      }
      if (!looksLikeApiKey(token)) {
        throw failed("malformed", new AuthenticationError("invalid API key"));
      }
      const hash = hashApiKey(token);
      const cacheKey = hash.toString("base64");
      const known = cache.valid(cacheKey);
      if (known?.fresh) return known.principal;
      if (!known && cache.isUnknown(cacheKey)) {
        throw failed("unknown", new AuthenticationError("invalid API key"));
      }
      // Only a key never seen valid is charged, and only the call that starts its lookup.
      const address = clientAddress(origin, isTrusted);
      const charged = !known && !inFlight.has(cacheKey);
      if (charged) {
        const waitMs = budget.take(address);
        if (waitMs !== undefined) throw failed("throttled", new AuthThrottledError(waitMs));
      }
      let principal: Principal | undefined;
      try {
        principal = await lookup(cacheKey, hash);
      } catch (err) {
        // The database failing says nothing about the key: the address keeps its token.
        if (charged) budget.refund(address);
        throw err;
      }
      if (!principal) throw failed("unknown", new AuthenticationError("invalid API key"));
      // A first-time valid key (a new till) does not count as a failure.
      if (charged) budget.refund(address);
      return principal;
    },
  };
}
