import type { Kysely } from "kysely";
import { AuthenticationError } from "../errors.js";
import type { Database } from "../storage/database.js";
import { hashApiKey, looksLikeApiKey } from "./api-key.js";
import { findActiveKeyByHash } from "./key-repository.js";

/** Who is calling. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
}

/** Resolves an `authorization` header value to a tenant. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

const MAX_CACHED = 10_000;
/** Unknown keys are remembered briefly so a flood of bad keys does not become a flood of queries. */
const NEGATIVE_TTL_MS = 5_000;

/**
 * Authenticates bearer API keys against their stored hashes, caching results for `ttlSeconds`
 * (a revoked key stops working within that time; 0 disables the cache). The cache is keyed by the
 * hash, so no token is kept in memory longer than the call.
 */
export function createAuthenticator(deps: {
  db: Kysely<Database>;
  ttlSeconds: number;
  now?: () => number;
  /** Runs the key lookup under the database circuit breaker. */
  guard?: <T>(operation: () => Promise<T>) => Promise<T>;
}): Authenticator {
  const guard = deps.guard ?? ((operation) => operation());
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { principal: Principal | undefined; expiresAt: number }>();

  return {
    async authenticate(authorization) {
      const token = parseBearer(authorization);
      if (!looksLikeApiKey(token)) throw new AuthenticationError("invalid API key");
      const hash = hashApiKey(token);
      const cacheKey = hash.toString("base64");
      const hit = cache.get(cacheKey);
      let principal: Principal | undefined;
      if (hit && hit.expiresAt > now()) {
        principal = hit.principal;
      } else {
        const row = await guard(() => findActiveKeyByHash(deps.db, hash));
        principal = row ? { tenantId: row.tenantId, keyId: row.id } : undefined;
        if (deps.ttlSeconds > 0) {
          if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
          const ttl = principal ? deps.ttlSeconds * 1000 : NEGATIVE_TTL_MS;
          cache.set(cacheKey, { principal, expiresAt: now() + ttl });
        }
      }
      if (!principal) throw new AuthenticationError("invalid API key");
      return principal;
    },
  };
}

function parseBearer(authorization: string | undefined): string {
  if (!authorization) {
    throw new AuthenticationError("missing authorization metadata: send 'Bearer <api key>'");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw new AuthenticationError("authorization must be 'Bearer <api key>'");
  return match[1];
}
