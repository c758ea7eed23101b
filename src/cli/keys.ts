import { listApiKeys, revokeApiKey } from "../auth/key-repository.js";
import { createApiKey } from "../auth/key-service.js";
import { migrateToLatest } from "../storage/migrate.js";
import { openCommandDatabase } from "./open-database.js";

/** The `keys` subcommands; they use DATABASE_URL, or the embedded database when it is unset. */
export type KeysCommand =
  | { readonly action: "create"; readonly tenant: string }
  | { readonly action: "list"; readonly tenant?: string }
  | { readonly action: "revoke"; readonly keyId: string };

/** `pos-ingest keys create|list|revoke`: manages API keys in the configured database. */
export async function runKeys(command: KeysCommand): Promise<number> {
  const database = openCommandDatabase();
  try {
    await migrateToLatest(database.db);
    switch (command.action) {
      case "create": {
        const key = await createApiKey(database.db, command.tenant);
        process.stdout.write(
          `tenant:  ${key.tenantId}\nkey id:  ${key.id}\napi key: ${key.token}\n`,
        );
        process.stdout.write("Store the key now: it is not shown again.\n");
        return 0;
      }
      case "list": {
        for (const k of await listApiKeys(database.db, command.tenant)) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
          process.stdout.write(`${k.id}  ${k.tenantId}  ${k.createdAt.toISOString()}  ${state}\n`);
        }
        return 0;
      }
      case "revoke": {
        const revoked = await revokeApiKey(database.db, command.keyId);
        process.stdout.write(
          revoked ? `revoked ${command.keyId}\n` : `no active key ${command.keyId}\n`,
        );
        return revoked ? 0 : 1;
      }
    }
  } finally {
    await database.close();
  }
}
