import { parseArgs } from "node:util";
import { listApiKeys, revokeApiKey } from "../auth/key-repository.js";
import { createApiKey } from "../auth/key-service.js";
import { loadConfig } from "../config.js";
import { createDatabase } from "../storage/database.js";
import { migrateToLatest } from "../storage/migrate.js";

const USAGE = `usage: npm run keys -- <command>

  create --tenant <id>   create a tenant (if new) and an API key; prints the key once
  list [--tenant <id>]   list keys (ids, tenants, dates; never the secrets)
  revoke <key id>        revoke a key (calls with it fail within AUTH_CACHE_TTL_SECONDS)

Uses DATABASE_URL, or the embedded database in PGLITE_DATA_DIR when it is unset.`;

/** `npm run keys -- create|list|revoke`: manage API keys in the configured database. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tenant: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const database = await createDatabase(loadConfig().database);
  try {
    await migrateToLatest(database.db);
    switch (command) {
      case "create": {
        if (!values.tenant) throw new UsageError("create needs --tenant <id>");
        const key = await createApiKey(database.db, values.tenant);
        process.stdout.write(
          `tenant:  ${key.tenantId}\nkey id:  ${key.id}\napi key: ${key.token}\n`,
        );
        process.stdout.write("Store the key now: it is not shown again.\n");
        return 0;
      }
      case "list": {
        for (const k of await listApiKeys(database.db, values.tenant)) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
          process.stdout.write(`${k.id}  ${k.tenantId}  ${k.createdAt.toISOString()}  ${state}\n`);
        }
        return 0;
      }
      case "revoke": {
        if (!arg) throw new UsageError("revoke needs a key id");
        const revoked = await revokeApiKey(database.db, arg);
        process.stdout.write(revoked ? `revoked ${arg}\n` : `no active key ${arg}\n`);
        return revoked ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } finally {
    await database.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    if (err instanceof UsageError) console.error(USAGE);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
