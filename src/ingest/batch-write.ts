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
  const keys = rows.map((row) => keyOf(row.tenantId, row.idempotencyKey));
  const first = new Map<string, number>();
  const uniqueRows: SaleRow[] = [];
  keys.forEach((key, i) => {
    if (!first.has(key)) {
      first.set(key, uniqueRows.length);
      uniqueRows.push(rows[i] as SaleRow);
    }
  });
  const stored = await insertSales(db, uniqueRows);
  // The usual case (a stream's records, distinct calls): nothing repeated, nothing to map back.
  if (uniqueRows.length === rows.length) return stored;
  const seen = new Set<string>();
  return keys.map((key) => {
    const result = stored[first.get(key) as number] as StoredSale;
    if (seen.has(key)) return { ...result, inserted: false };
    seen.add(key);
    return result;
  });
}
