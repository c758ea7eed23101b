import type { Executor } from "../storage/database.js";
import {
  assertOneTenant,
  findSales,
  insertSales,
  type SaleRow,
  type StoredSale,
  type WriteResult,
} from "./repository.js";
import { explainRefusedVoids } from "./void-guard.js";

/**
 * The original a post-void row cancels, as one string for sets (its resolved POS identity, as
 * the one-void-per-original index sees it); undefined for every other row.
 */
export function voidedOriginalOf(row: SaleRow): string | undefined {
  const o = row.ledger.original;
  if (row.ledger.kind !== "post_void" || !o) return undefined;
  return ["void", row.tenantId, o.source, o.locationId, o.saleId].join("\u0000");
}

/**
 * Writes rows that may repeat a key (concurrent retries of one sale, a stream resending a record)
 * and returns one result per input row, in order. Each key is written once; later occurrences in
 * the same batch come back as not inserted, carrying what the first stored, so the caller treats
 * them exactly like a retry that arrived after the commit.
 *
 * Two post-voids of one original under different keys: the later (in `rows` order, a stream's
 * order) is held back, since the database would refuse whichever came second. It is then looked
 * up under its own key, so a void stored earlier and resent is a duplicate, as any retry is; else
 * it is an original conflict.
 */
export async function writeSaleBatch(
  db: Executor,
  tenantId: string,
  rows: readonly SaleRow[],
): Promise<WriteResult[]> {
  assertOneTenant(tenantId, rows);
  // One tenant: the idempotency key alone names a row.
  const keys = rows.map((row) => row.idempotencyKey);
  const first = new Map<string, number>();
  const uniqueRows: SaleRow[] = [];
  const held: SaleRow[] = [];
  const voided = new Set<string>();
  keys.forEach((key, i) => {
    if (first.has(key)) return;
    const row = rows[i] as SaleRow;
    const original = voidedOriginalOf(row);
    if (original !== undefined) {
      if (voided.has(original)) {
        first.set(key, -1 - held.length);
        held.push(row);
        return;
      }
      voided.add(original);
    }
    first.set(key, uniqueRows.length);
    uniqueRows.push(row);
  });
  const stored = await insertSales(db, tenantId, uniqueRows);
  const heldResults = await resolveHeld(db, tenantId, held);
  // The usual case (a stream's records, distinct calls): nothing repeated, nothing to map back.
  if (uniqueRows.length === rows.length) return stored;
  const seen = new Set<string>();
  return keys.map((key) => {
    const at = first.get(key) as number;
    const result = (at >= 0 ? stored[at] : heldResults[-1 - at]) as WriteResult;
    if (seen.has(key) && "inserted" in result) return { ...result, inserted: false };
    seen.add(key);
    return result;
  });
}

/**
 * What became of held-back voids: what is stored under their keys, else a conflict, explained by
 * what is stored now that the batch is (its original voided by the earlier void, usually).
 */
async function resolveHeld(
  db: Executor,
  tenantId: string,
  held: readonly SaleRow[],
): Promise<WriteResult[]> {
  if (held.length === 0) return [];
  const found = new Map<string, StoredSale>();
  const keys = held.map((row) => row.idempotencyKey);
  for (const s of await findSales(db, tenantId, keys)) found.set(s.idempotencyKey, s);
  const refused = held.filter((row) => !found.has(row.idempotencyKey));
  const reasons = await explainRefusedVoids(db, tenantId, refused);
  const reasonOf = new Map(refused.map((row, i) => [row, reasons[i]]));
  return held.map(
    (row) =>
      found.get(row.idempotencyKey) ?? {
        tenantId: row.tenantId,
        idempotencyKey: row.idempotencyKey,
        originalConflict:
          reasonOf.get(row) ??
          "another post-void of the same original comes earlier in this batch; a transaction is voided once",
      },
  );
}
