import type pg from "pg";
import { TABLE_PLACEMENT } from "../../src/storage/distribute.js";

/** A statement as the app sent it. */
export interface CapturedStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** What the check found of one statement touching tenant data. */
export interface ScopedStatement extends CapturedStatement {
  /** The tenants its scans and inserted rows are held to; exactly one is what passes. */
  readonly tenants: readonly string[];
  /** Why it does not name one tenant; empty when it does. */
  readonly problems: readonly string[];
}

/** The tables distributed by tenant: the ones every statement must hold to one tenant. */
const TENANT_TABLES = new Set(
  TABLE_PLACEMENT.filter((t) => t.placement === "by-tenant").map((t) => t.table),
);

/** `tenant_id = 'acme'::text` as PostgreSQL prints a condition with the parameter bound. */
const TENANT_CONDITION = /\btenant_id = '((?:[^']|'')*)'::text/g;
/** The tenant column of an inserted row as a bound parameter prints: `'acme'::text`. */
const TENANT_CONSTANT = /^'((?:[^']|'')*)'::text$/;

interface PlanNode {
  "Node Type": string;
  Operation?: string;
  "Parent Relationship"?: string;
  "Relation Name"?: string;
  "Index Cond"?: string;
  "Recheck Cond"?: string;
  Filter?: string;
  Output?: string[];
  Plans?: PlanNode[];
}

/**
 * Asks PostgreSQL how it would run each statement (EXPLAIN with the statement's own parameters,
 * so the plan shows them bound) and reports, for every statement whose plan reads or writes a
 * tenant table, which tenants it is held to: every scan of such a table must carry a
 * `tenant_id = <one value>` condition (PostgreSQL derives it through joins, as Citus' router
 * does), every inserted row's tenant must be one bound value, and all of them the same. That is
 * what lets a tenant-distributed database send the statement to one shard. Statements that
 * touch no tenant table are left out.
 */
export async function checkTenantScope(
  client: pg.Client,
  statements: readonly CapturedStatement[],
): Promise<ScopedStatement[]> {
  const checked: ScopedStatement[] = [];
  for (const statement of statements) {
    if (!/^\s*(with|select|insert|update|delete)\b/i.test(statement.sql)) continue;
    const explained = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
      `explain (verbose, format json) ${statement.sql}`,
      [...statement.parameters],
    );
    const plan = explained.rows[0]?.["QUERY PLAN"][0].Plan as PlanNode;
    const tenants = new Set<string>();
    const problems: string[] = [];
    let touches = false;
    walk(plan, (node, parent) => {
      const table = node["Relation Name"];
      if (table === undefined || !TENANT_TABLES.has(table)) return;
      touches = true;
      if (node["Node Type"] === "ModifyTable") {
        if (node.Operation === "Insert") insertedTenant(node, tenants, problems);
        return;
      }
      const conditions = [node["Index Cond"], node["Recheck Cond"], node.Filter]
        .concat((node.Plans ?? []).map((child) => child["Index Cond"]))
        .filter((c): c is string => c !== undefined)
        .join(" AND ");
      const found = [...conditions.matchAll(TENANT_CONDITION)].map((m) => unquote(m[1]));
      if (found.length === 0) {
        problems.push(
          `${node["Node Type"]} on ${table} has no tenant condition` +
            (parent?.["Node Type"] ? ` (under ${parent["Node Type"]})` : ""),
        );
      }
      for (const tenant of found) tenants.add(tenant);
    });
    if (!touches) continue;
    if (tenants.size > 1)
      problems.push(`names ${tenants.size} tenants: ${[...tenants].join(", ")}`);
    checked.push({ ...statement, tenants: [...tenants], problems });
  }
  return checked;
}

// An INSERT's rows come from its outer child plan (beside any CTE or InitPlan), whose output
// lists the table's columns in order, tenant_id first (migrations/…_create_sales.ts); a bound
// parameter prints as a constant.
function insertedTenant(node: PlanNode, tenants: Set<string>, problems: string[]): void {
  const rows = node.Plans?.find((child) => child["Parent Relationship"] === "Outer");
  const source = rows?.Output?.[0];
  const constant = source === undefined ? null : TENANT_CONSTANT.exec(source);
  if (!constant) {
    problems.push(`inserts rows whose tenant is ${source ?? "unknown"}, not one bound value`);
    return;
  }
  tenants.add(unquote(constant[1]));
}

function walk(
  node: PlanNode,
  visit: (node: PlanNode, parent?: PlanNode) => void,
  parent?: PlanNode,
) {
  visit(node, parent);
  for (const child of node.Plans ?? []) walk(child, visit, node);
}

function unquote(text: string | undefined): string {
  return (text ?? "").replaceAll("''", "'");
}
