import type { Kysely } from "kysely";
import type { Database } from "../storage/database.js";
import { mintApiKey, TENANT_ID_PATTERN } from "./api-key.js";
import { ensureTenant, insertApiKey } from "./key-repository.js";

/** A key just created: the token is shown to the operator once and never again. */
export interface CreatedApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly token: string;
}

/** Creates a tenant (if new) and an API key for it, in one transaction. */
export async function createApiKey(db: Kysely<Database>, tenantId: string): Promise<CreatedApiKey> {
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new Error(`tenant id must match ${TENANT_ID_PATTERN}: got ${JSON.stringify(tenantId)}`);
  }
  const key = mintApiKey();
  await db.transaction().execute(async (trx) => {
    await ensureTenant(trx, tenantId);
    await insertApiKey(trx, { id: key.id, tenantId, hash: key.hash });
  });
  return { id: key.id, tenantId, token: key.token };
}
