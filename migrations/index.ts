import type { Migration } from "kysely";
import * as createTenantsAndApiKeys from "./2026_11_29_000100_create_tenants_and_api_keys.js";
import * as createSales from "./2026_11_29_000200_create_sales.js";
import * as addLedgerColumns from "./2026_12_02_000300_add_ledger_columns.js";
import * as addOneVoidPerOriginal from "./2026_12_02_000400_add_one_void_per_original.js";
import * as addTenderColumns from "./2026_12_02_000500_add_tender_columns.js";

/**
 * Every migration, keyed by its sortable name. A static map rather than a folder scan, so the
 * same list works from TypeScript sources (tests), compiled output (production) and a bundle.
 */
export const migrations: Record<string, Migration> = {
  "2026_11_29_000100_create_tenants_and_api_keys": createTenantsAndApiKeys,
  "2026_11_29_000200_create_sales": createSales,
  "2026_12_02_000300_add_ledger_columns": addLedgerColumns,
  "2026_12_02_000400_add_one_void_per_original": addOneVoidPerOriginal,
  "2026_12_02_000500_add_tender_columns": addTenderColumns,
};
