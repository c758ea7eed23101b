import { randomBytes } from "node:crypto";
import pg from "pg";

/** The Postgres server tests run against: DATABASE_URL, or the local server's `test` database. */
export const BASE_DATABASE_URL =
  process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A database of its own for one test file, dropped by `drop`. */
export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh, empty database on the test server, so test files run in parallel without
 * seeing each other's rows and every file starts from the real migrations.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `pos_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(`create database ${name}`);
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: BASE_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs one query against a database and returns its rows (for assertions on what is stored). */
export async function query<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
