import { PGlite } from "@electric-sql/pglite";
import type { ColumnType, Generated } from "kysely";
import { Kysely, type LogEvent, PostgresDialect, type Transaction } from "kysely";
import pg from "pg";
import type { Config } from "../config/index.js";
import { acquireDataDirLock, type DataDirLock, type LockOwner } from "./data-dir-lock.js";
import { PGliteDialect } from "./pglite-dialect.js";

/** Row shapes of the tables the service owns (see migrations/). */
export interface Database {
  tenants: { id: string; created_at: Generated<Date> };
  api_keys: {
    id: string;
    tenant_id: string;
    key_hash: Uint8Array;
    created_at: Generated<Date>;
    revoked_at: Date | null;
  };
  sales: {
    tenant_id: string;
    idempotency_key: string;
    id: string;
    payload_hash: Uint8Array;
    accepted_at: Generated<Date>;
    source: string;
    location_id: string;
    register_id: string;
    sale_id: string;
    occurred_at: Date;
    currency: string;
    total_minor: ColumnType<string, string | bigint, string | bigint>;
    /** Protobuf encoding of pos.ingest.v1.Sale. */
    sale: Uint8Array;
    // The ledger (migration 000300): written with every row; null on rows stored before it until
    // `backfill-ledger` fills them. Amounts are signed minor units, a post-void's negated.
    kind: ColumnType<LedgerKindColumn, LedgerKindColumn | undefined, LedgerKindColumn>;
    original_source: string | null;
    original_location_id: string | null;
    original_sale_id: string | null;
    original_idempotency_key: string | null;
    original_kind: LedgerKindColumn | null;
    /** "YYYY-MM-DD" as written; pg reads a date back as a Date. */
    business_day: ColumnType<Date | string | null, string | null, string | null>;
    gross_minor: MinorColumn;
    discount_minor: MinorColumn;
    service_charge_minor: MinorColumn;
    tax_minor: MinorColumn;
    included_tax_minor: MinorColumn;
    rounding_minor: MinorColumn;
    tip_minor: MinorColumn;
    net_minor: MinorColumn;
    // The tenders (migration 000500), one element per payment: written with every row; null on
    // rows stored before it until `backfill-ledger` fills them. pg reads int8[] back as strings.
    tender_types: number[] | null;
    tender_amounts_minor: ColumnType<string[] | null, string[] | null, string[] | null>;
    tender_tips_minor: ColumnType<string[] | null, string[] | null, string[] | null>;
  };
  /** Net sales per tenant, location, currency and business day (a view; read only). */
  net_sales_daily: {
    tenant_id: string;
    location_id: string;
    currency: string;
    business_day: Date | string;
    transactions: string;
    returns: string;
    post_voids: string;
    gross_minor: string | null;
    discount_minor: string | null;
    service_charge_minor: string | null;
    tax_minor: string | null;
    included_tax_minor: string | null;
    rounding_minor: string | null;
    tip_minor: string | null;
    net_minor: string | null;
    total_minor: string;
    rows_without_ledger: string;
  };
}

/** `sales.kind`: a transaction kind as stored. */
type LedgerKindColumn = "sale" | "return" | "exchange" | "post_void";

/** A nullable bigint column: read as a decimal string, written as a bigint or one. */
type MinorColumn = ColumnType<string | null, string | bigint | null, string | bigint | null>;

/** A Kysely handle or an open transaction: repositories accept either, so callers compose. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** The database the app runs on, and how to let it go. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: "postgres" | "pglite";
  /** pg pool counters, for metrics and diagnostics; undefined on PGlite. */
  readonly pool: pg.Pool | undefined;
  /**
   * Takes the embedded data directory's lock now, if not yet taken (the first query takes it
   * otherwise), so a caller can fail before doing anything else while another process has the
   * directory open. Returns the process whose lock this one took over because it had died
   * holding it (`kill -9`, a crash): worth a word in the log. A no-op without a data directory.
   *
   * @throws DataDirLockedError when another process has the data directory open.
   */
  lock(): LockOwner | undefined;
  close(): Promise<void>;
}

/** Told about every query: its SQL, how long it took, whether it failed, and its parameters. */
export type QueryObserver = (
  sql: string,
  durationMs: number,
  failed: boolean,
  parameters: readonly unknown[],
) => void;

/**
 * Builds the configured database: a pg pool against `DATABASE_URL`, or embedded PGlite stored in
 * a data directory (in memory when `dataDir` is undefined, as some tests want). Synchronous and
 * free of side effects, so a composition root can build it up front: the pool connects, and
 * PGlite opens (after its data directory's lock is taken), on the first query or `lock()`.
 */
export function createDatabase(
  config: Config["database"],
  onQuery?: QueryObserver,
): DatabaseHandle {
  const log = onQuery
    ? (event: LogEvent) =>
        onQuery(
          event.query.sql,
          event.queryDurationMillis,
          event.level === "error",
          event.query.parameters,
        )
    : undefined;
  if (config.kind === "postgres") {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      // Fail a connect attempt within bounded time instead of hanging a call when the server is gone.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      application_name: "pos-ingest",
    });
    // An idle client that loses its server emits 'error' on the pool; without a listener that
    // would crash the process. The next query reports the failure instead.
    pool.on("error", () => {});
    // pg-pool removes its error listener from a client while it is checked out, and a client
    // whose socket dies mid-query emits 'error' as well as failing the query: with no listener
    // that would crash the process. The failed query already reports the error to its caller.
    pool.on("connect", (client) => {
      client.on("error", () => {});
    });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      ...(log && { log }),
    });
    return { db, kind: "postgres", pool, lock: () => undefined, close: () => db.destroy() };
  }
  const { dataDir } = config;
  if (dataDir === undefined) {
    const db = new Kysely<Database>({
      dialect: new PGliteDialect(() => new PGlite()),
      ...(log && { log }),
    });
    return {
      db,
      kind: "pglite",
      pool: undefined,
      lock: () => undefined,
      close: () => db.destroy(),
    };
  }
  let held: DataDirLock | undefined;
  const lock = (): DataDirLock => {
    held ??= acquireDataDirLock(dataDir);
    return held;
  };
  // The lock before the files: PGlite must never open a directory another process is writing.
  const db = new Kysely<Database>({
    dialect: new PGliteDialect(() => {
      lock();
      return new PGlite(dataDir);
    }),
    ...(log && { log }),
  });
  return {
    db,
    kind: "pglite",
    pool: undefined,
    lock: () => lock().tookOverFrom,
    async close() {
      try {
        await db.destroy();
      } finally {
        // Only once the database is closed: a lock released earlier would let another process
        // open files this one may still write.
        held?.release();
        held = undefined;
      }
    },
  };
}
