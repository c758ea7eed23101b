import { sql } from "kysely";
import type { Executor } from "../storage/database.js";

/** An API key as listed to an operator: never the secret, never the hash. */
export interface ApiKeyInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** Creates the tenant if it does not exist yet. */
export async function ensureTenant(db: Executor, tenantId: string): Promise<void> {
  await db
    .insertInto("tenants")
    .values({ id: tenantId })
    .onConflict((oc) => oc.column("id").doNothing())
    .execute();
}

/** Stores a key's hash for a tenant. */
export async function insertApiKey(
  db: Executor,
  key: { id: string; tenantId: string; hash: Uint8Array },
): Promise<void> {
  await db
    .insertInto("api_keys")
    .values({ id: key.id, tenant_id: key.tenantId, key_hash: key.hash })
    .execute();
}

/** The tenant of an active (not revoked) key with this hash, if any. */
export async function findActiveKeyByHash(
  db: Executor,
  hash: Uint8Array,
): Promise<{ id: string; tenantId: string } | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .select(["id", "tenant_id"])
    .where("key_hash", "=", hash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return row ? { id: row.id, tenantId: row.tenant_id } : undefined;
}

/** Keys, newest first, optionally of one tenant. */
export async function listApiKeys(db: Executor, tenantId?: string): Promise<ApiKeyInfo[]> {
  let query = db
    .selectFrom("api_keys")
    .select(["id", "tenant_id", "created_at", "revoked_at"])
    .orderBy("created_at", "desc");
  if (tenantId !== undefined) query = query.where("tenant_id", "=", tenantId);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  }));
}

/** Revokes a key; true if an active key was revoked. */
export async function revokeApiKey(db: Executor, id: string): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_at: sql<Date>`now()` })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Number of keys that are not revoked, across all tenants. */
export async function countActiveApiKeys(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("api_keys")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("revoked_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
