import { type Kysely, sql } from "kysely";

/**
 * Where each table lives in a tenant-distributed database (Citus), in the order they are placed:
 * a reference table before the tables whose foreign keys point at it. The one list of it: a
 * table a later migration adds is placed here too, `by-tenant` (co-located with `sales`, so a
 * statement joining them stays on one shard) unless it is small and read without a tenant.
 *
 * `tenants` and `api_keys` are reference tables (a copy on every node): a key is looked up by its
 * hash before its tenant is known, so `api_keys`' primary and unique keys cannot hold `tenant_id`.
 */
export const TABLE_PLACEMENT: readonly TablePlacement[] = [
  { table: "tenants", placement: "reference" },
  { table: "api_keys", placement: "reference" },
  { table: "sales", placement: "by-tenant" },
];

/** A table and where it goes. */
export interface TablePlacement {
  readonly table: string;
  readonly placement: "reference" | "by-tenant";
}

/** The column every `by-tenant` table is distributed by, and every statement on it names. */
export const DISTRIBUTION_COLUMN = "tenant_id";

/** What `distributeTables` found or did for one table. */
export interface PlacementResult extends TablePlacement {
  /** `created`: placed by this run; `present`: already placed so by an earlier one. */
  readonly action: "created" | "present";
}

/** What `distributeTables` did: nothing at all without Citus. */
export type DistributeReport =
  | { readonly citus: undefined }
  | { readonly citus: string; readonly tables: readonly PlacementResult[] };

/** A table already placed otherwise than TABLE_PLACEMENT says: left alone, for an operator. */
export class PlacementMismatchError extends Error {
  constructor(table: string, found: string, wanted: string) {
    super(
      `table ${table} is ${found} in this Citus database, not ${wanted}; ` +
        "undistribute it (undistribute_table) or place it by hand, then run migrate again",
    );
    this.name = "PlacementMismatchError";
  }
}

interface CitusTableRow {
  table_type: string;
  distribution_column: string;
  colocation_id: number;
}

// Any two runs (replicas starting at once, an operator's migrate) place each table once.
const LOCK_KEY = sql`hashtext('pos-ingest:distribute-tables')`;

/**
 * Distributed mode: when the `citus` extension is installed in the database, makes the small
 * tables reference tables and distributes the tenant tables by `tenant_id`, co-located, as
 * TABLE_PLACEMENT says. Idempotent: a table already placed so is left alone, one placed
 * otherwise is an error naming it. On plain PostgreSQL and PGlite it does nothing.
 *
 * `create_distributed_table` copies a table's existing rows into its shards, holding a lock that
 * blocks writes meanwhile; the README says how to distribute a large table without downtime
 * first (`create_distributed_table_concurrently`), after which this finds it in place.
 */
// biome-ignore lint/suspicious/noExplicitAny: runs on a database of any schema, as migrations do.
export async function distributeTables(db: Kysely<any>): Promise<DistributeReport> {
  const extension = await sql<{ version: string }>`
    select extversion as version from pg_extension where extname = 'citus'`.execute(db);
  const citus = extension.rows[0]?.version;
  if (citus === undefined) return { citus: undefined };
  // One connection: the advisory lock belongs to a session.
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${LOCK_KEY})`.execute(conn);
    try {
      const tables: PlacementResult[] = [];
      let first: { table: string; colocationId: number } | undefined;
      for (const wanted of TABLE_PLACEMENT) {
        let found = await placementOf(conn, wanted.table);
        const action = found ? "present" : "created";
        if (!found) {
          await place(conn, wanted, first?.table ?? "default");
          found = (await placementOf(conn, wanted.table)) as CitusTableRow;
        }
        assertPlaced(wanted, found);
        if (wanted.placement === "by-tenant") {
          if (first && found.colocation_id !== first.colocationId) {
            throw new PlacementMismatchError(
              wanted.table,
              "distributed apart",
              `co-located with ${first.table}`,
            );
          }
          first ??= { table: wanted.table, colocationId: found.colocation_id };
        }
        tables.push({ ...wanted, action });
      }
      return { citus, tables };
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
    }
  });
}

// biome-ignore lint/suspicious/noExplicitAny: see distributeTables.
async function placementOf(db: Kysely<any>, table: string): Promise<CitusTableRow | undefined> {
  // pg_dist_partition: Citus' own catalog, the same in every version that supports PostgreSQL 15.
  // A reference table is method 'n' replicated to all nodes ('t'); 'n' otherwise is a Citus local
  // table.
  const rows = await sql<CitusTableRow>`
    select case when partmethod = 'h' then 'distributed'
                when partmethod = 'n' and repmodel = 't' then 'reference'
                else 'local' end as table_type,
           case when partkey is null then ''
                else column_to_column_name(logicalrelid, partkey) end as distribution_column,
           colocationid as colocation_id
    from pg_dist_partition where logicalrelid = to_regclass(${table})`.execute(db);
  return rows.rows[0];
}

// biome-ignore lint/suspicious/noExplicitAny: see distributeTables.
async function place(db: Kysely<any>, wanted: TablePlacement, colocateWith: string) {
  if (wanted.placement === "reference") {
    await sql`select create_reference_table(${wanted.table})`.execute(db);
  } else {
    await sql`select create_distributed_table(${wanted.table}, ${DISTRIBUTION_COLUMN},
                                              colocate_with => ${colocateWith})`.execute(db);
  }
}

function assertPlaced(wanted: TablePlacement, found: CitusTableRow): void {
  if (wanted.placement === "reference") {
    if (found.table_type !== "reference") {
      throw new PlacementMismatchError(wanted.table, describe(found), "a reference table");
    }
    return;
  }
  if (found.table_type !== "distributed" || found.distribution_column !== DISTRIBUTION_COLUMN) {
    throw new PlacementMismatchError(
      wanted.table,
      describe(found),
      `distributed by ${DISTRIBUTION_COLUMN}`,
    );
  }
}

function describe(found: CitusTableRow): string {
  return found.table_type === "distributed"
    ? `distributed by ${found.distribution_column}`
    : `a ${found.table_type} table`;
}

/** The report as lines for a terminal or a log. */
export function describeDistribution(report: DistributeReport): string[] {
  if (report.citus === undefined) {
    return ["not distributed: the citus extension is not installed in this database"];
  }
  return report.tables.map(
    (t) =>
      `citus ${report.citus}: ${t.table} ${
        t.placement === "reference"
          ? "is a reference table"
          : `is distributed by ${DISTRIBUTION_COLUMN}`
      } (${t.action === "created" ? "placed now" : "already"})`,
  );
}
