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

/**
 * A fresh schema of its own in an existing database (a Citus coordinator's, where a new database
 * would lack the extension and its workers), reached by a URL whose connections put it first on
 * the search path. `drop` removes it with everything in it.
 */
export async function createTestSchema(databaseUrl: string): Promise<TestDatabase> {
  const name = `pos_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(`create schema ${name}`, databaseUrl);
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${name}`);
  return {
    url: url.toString(),
    drop: () => admin(`drop schema if exists ${name} cascade`, databaseUrl),
  };
}

async function admin(statement: string, url = BASE_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
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
