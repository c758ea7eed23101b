import { z } from "zod";
import { bool, positiveInt } from "./env-values.js";

/** Where the data lives: a Postgres server, or the embedded PGlite database. */
export type DatabaseConfig =
  | { readonly kind: "postgres"; readonly url: string; readonly poolMax: number }
  /** `dataDir` undefined keeps the database in memory (tests). */
  | { readonly kind: "pglite"; readonly dataDir: string | undefined };

/** DATABASE_URL (Postgres) or PGLITE_DATA_DIR (embedded, the default), and the pool's size. */
export const databaseSection = z
  .object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected postgres://user@host:port/database")
      .optional(),
    PGLITE_DATA_DIR: z.string().min(1).default(".data/pglite"),
    DB_POOL_MAX: positiveInt(1000).default(10),
  })
  .transform(
    (e): DatabaseConfig =>
      e.DATABASE_URL
        ? { kind: "postgres", url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX }
        : { kind: "pglite", dataDir: e.PGLITE_DATA_DIR },
  );

/** Whether the server applies pending migrations when it starts. */
export const migrateOnStartSection = z
  .object({ MIGRATE_ON_START: bool.default(true) })
  .transform((e) => e.MIGRATE_ON_START);
