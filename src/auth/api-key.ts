import { createHash, randomBytes } from "node:crypto";

/** Tenant ids: lowercase, short, safe in logs and metric labels. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const TOKEN_PATTERN = /^pik_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A freshly minted API key. `token` is shown once and never stored. */
export interface NewApiKey {
  readonly id: string;
  readonly token: string;
  readonly hash: Buffer;
}

/**
 * Mints an API key: `pik_<id>_<secret>` with a 256-bit random secret. The id is public (it names
 * the key in lists and revocations); only a SHA-256 of the whole token is stored. A fast hash is
 * enough because the secret is random and long, not a password a person chose.
 */
export function mintApiKey(): NewApiKey {
  const id = randomBytes(6).toString("hex");
  const token = `pik_${id}_${randomBytes(32).toString("base64url")}`;
  return { id, token, hash: hashApiKey(token) };
}

/** The stored form of a token. */
export function hashApiKey(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** True when the string has the shape of a token we mint (cheap check before any lookup). */
export function looksLikeApiKey(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
