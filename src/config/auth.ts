import { z } from "zod";
import { trustedProxies } from "../auth/client-address.js";
import { bool, integer, positiveInt } from "./env-values.js";

/** API keys: the cache of valid keys, the budget for bad ones, and whose forwarding to believe. */
export const authSection = z
  .object({
    AUTH_CACHE_TTL_SECONDS: integer(0, 3600).default(30),
    AUTH_CACHE_MAX_KEYS: positiveInt(10_000_000).default(10_000),
    AUTH_PEER_FAILURE_BURST: positiveInt(1_000_000).default(20),
    AUTH_PEER_FAILURES_PER_MINUTE: positiveInt(1_000_000).default(60),
    AUTH_TRUSTED_PROXIES: z
      .string()
      .default("")
      .transform((text, ctx) => {
        const entries = text
          .split(",")
          .map((e) => e.trim())
          .filter((e) => e !== "");
        try {
          trustedProxies(entries);
        } catch (err) {
          ctx.addIssue({
            code: "custom",
            message: `expected addresses or CIDR blocks separated by commas, like 10.0.0.0/8,fd00::/8 (${(err as Error).message})`,
          });
          return z.NEVER;
        }
        return entries;
      }),
    DEV_API_KEY_ON_EMPTY: bool.default(true),
  })
  .transform((e) => ({
    cacheTtlSeconds: e.AUTH_CACHE_TTL_SECONDS,
    /** Print a development key on the first start of an empty embedded database. */
    devKeyOnEmpty: e.DEV_API_KEY_ON_EMPTY,
    /** Valid keys cached at once (unknown keys have a separate, fixed space). */
    cacheMaxKeys: e.AUTH_CACHE_MAX_KEYS,
    /** Lookups of keys not known valid one address may fail at once, before it is throttled. */
    peerFailureBurst: e.AUTH_PEER_FAILURE_BURST,
    /** How fast that budget refills. */
    peerFailuresPerMinute: e.AUTH_PEER_FAILURES_PER_MINUTE,
    /** Proxies whose `x-forwarded-for` is believed for the client's address. */
    trustedProxies: e.AUTH_TRUSTED_PROXIES as readonly string[],
  }));
