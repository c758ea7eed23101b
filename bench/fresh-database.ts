import { randomBytes } from "node:crypto";
import pg from "pg";
import { createApiKey } from "../src/auth/key-service.js";
import { createDatabase } from "../src/storage/database.js";
import { migrateToLatest } from "../src/storage/migrate.js";
import { onInterrupt } from "./cleanup.js";

/** A database created for one part of a run, migrated, with one API key; dropped afterwards. */
export interface FreshDatabase {
  readonly name: string;
  readonly url: string;
  /** A bearer token for tenant `bench`. */
  readonly token: string;
  /** Runs one query on the database (for the checks after a scenario). */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/**
 * Creates `pos_bench_<random>` on the server named by `baseUrl`, applies the service's own
 * migrations (so baselines write to the very same table and primary key) and creates an API key
 * with the service's own key service.
 */
export async function createFreshDatabase(baseUrl: string): Promise<FreshDatabase> {
  const name = `pos_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const dropOnInterrupt = onInterrupt(async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
  });
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let token: string;
  try {
    const setup = createDatabase({ kind: "postgres", url: url.toString(), poolMax: 2 });
    try {
      await migrateToLatest(setup.db);
      token = (await createApiKey(setup.db, "bench")).token;
    } finally {
      await setup.close();
    }
  } catch (err) {
    dropOnInterrupt();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    throw err;
  }
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  // pool.end() resolves before its idle client's backend has gone, so the forced drop below can
  // terminate that backend, and the pool re-emits the client's error: without a listener that
  // killed the whole run (seen on a loaded machine, after the run's figures were in).
  pool.on("error", () => {});
  return {
    name,
    url: url.toString(),
    token,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      return (await pool.query<R>(text, values)).rows;
    },
    async drop() {
      dropOnInterrupt();
      await pool.end();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
