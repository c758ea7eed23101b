import { afterAll, beforeAll } from "vitest";
import { createDatabase, type DatabaseHandle } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

/**
 * A fresh database of `kind` with every migration applied, for the describe block that calls
 * this: a new Postgres database (dropped after) or an in-memory PGlite. `use` receives the handle
 * before the block's tests run.
 */
export function useMigratedDatabase(
  kind: "postgres" | "pglite",
  use: (handle: DatabaseHandle) => void,
): void {
  let testDb: TestDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    if (kind === "postgres") {
      testDb = await createTestDatabase();
      handle = createDatabase({ kind, url: testDb.url, poolMax: 2 });
    } else {
      handle = createDatabase({ kind, dataDir: undefined });
    }
    await migrateToLatest(handle.db);
    use(handle);
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });
}
