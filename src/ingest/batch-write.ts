import type { Executor } from "../storage/database.js";
import { insertSales, keyOf, type SaleRow, type StoredSale } from "./repository.js";

/**
 * Writes rows that may repeat a key (concurrent retries of one sale, a stream resending a record)
 * and returns one result per input row, in order. Each key is written once; later occurrences in
 * the same batch come back as not inserted, carrying what the first stored, so the caller treats
 * them exactly like a retry that arrived after the commit.
 */
export async function writeSaleBatch(
  db: Executor,
  rows: readonly SaleRow[],
): Promise<StoredSale[]> {
  const unique = new Map<string, SaleRow>();
  for (const row of rows) {
    const key = keyOf(row.tenantId, row.idempotencyKey);
    if (!unique.has(key)) unique.set(key, row);
  }
  const uniqueRows = [...unique.values()];
  const stored = await insertSales(db, uniqueRows);
  const byKey = new Map<string, StoredSale>();
  uniqueRows.forEach((row, i) => {
    byKey.set(keyOf(row.tenantId, row.idempotencyKey), stored[i] as StoredSale);
  });
  const seen = new Set<string>();
  return rows.map((row) => {
    const key = keyOf(row.tenantId, row.idempotencyKey);
    const result = byKey.get(key) as StoredSale;
    if (seen.has(key)) return { ...result, inserted: false };
    seen.add(key);
    return result;
  });
}
