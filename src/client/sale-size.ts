import { create, isMessage, toBinary } from "@bufbuild/protobuf";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { SaleInput } from "./sale-input.js";

/** Per field: a tag (≤ 2 bytes here) and a length or varint value (≤ 10 bytes). */
const FIELD_OVERHEAD = 12;

/**
 * An upper bound of a sale's encoded size, from string lengths (≤ 3 UTF-8 bytes per UTF-16 unit)
 * and a fixed overhead per field: a walk over the fields, far cheaper than encoding, and exact
 * enough to tell a receipt from a megabyte.
 */
function sizeBound(sale: SaleInput): number {
  const text = (s: string | undefined) => FIELD_OVERHEAD + 3 * (s?.length ?? 0);
  const taxes = (list: readonly { code?: string; name?: string }[] | undefined) => {
    let n = 0;
    for (const t of list ?? [])
      n += 2 * FIELD_OVERHEAD + text(t.code) + text(t.name) + 3 * FIELD_OVERHEAD;
    return n;
  };
  let size =
    text(sale.saleId) +
    text(sale.locationId) +
    text(sale.registerId) +
    text(sale.source) +
    text(sale.currency) +
    text(sale.businessDay) +
    text(sale.cashierId) +
    text(sale.loyaltyAccountId) +
    8 * FIELD_OVERHEAD; // occurred_at, totals, customer, cash rounding, kinds and their framing
  const o = sale.original;
  if (o)
    size +=
      2 * FIELD_OVERHEAD +
      text(o.saleId) +
      text(o.locationId) +
      text(o.source) +
      text(o.idempotencyKey);
  for (const l of sale.lineItems ?? []) {
    size +=
      2 * FIELD_OVERHEAD + text(l.sku) + text(l.name) + text(l.lineId) + text(l.originalLineId);
    size +=
      10 * FIELD_OVERHEAD + taxes(l.taxes) + (l.appliedDiscounts?.length ?? 0) * 4 * FIELD_OVERHEAD;
  }
  for (const d of sale.basketDiscounts ?? [])
    size += 4 * FIELD_OVERHEAD + text(d.code) + text(d.name);
  for (const c of sale.serviceCharges ?? []) {
    size += 4 * FIELD_OVERHEAD + text(c.code) + text(c.name) + taxes(c.taxes);
  }
  for (const p of sale.payments ?? [])
    size += 7 * FIELD_OVERHEAD + text(p.cardBrand) + text(p.cardLast4);
  size += 8 * FIELD_OVERHEAD;
  const c = sale.customer;
  if (c) size += text(c.customerId) + text(c.name) + text(c.email) + text(c.phone);
  for (const [k, v] of Object.entries(sale.attributes ?? {}))
    size += FIELD_OVERHEAD + text(k) + text(v);
  return size;
}

/**
 * A sale's encoded size, or an upper bound of it: the cheap bound when it is within `maxBytes`,
 * else the exact size (only then is the sale encoded). A string says why the sale cannot be sent
 * within `maxBytes` at all (too large, or a value protobuf cannot hold).
 */
export function measureSale(sale: SaleInput, maxBytes: number): number | string {
  const bound = sizeBound(sale);
  if (bound <= maxBytes) return bound;
  try {
    const message = isMessage(sale, SaleSchema) ? sale : create(SaleSchema, sale);
    const bytes = toBinary(SaleSchema, message).length;
    return bytes <= maxBytes
      ? bytes
      : `sale is ${bytes} bytes encoded; the limit is ${maxBytes} (the server's MAX_MESSAGE_BYTES)`;
  } catch (err) {
    return `sale cannot be encoded: ${err instanceof Error ? err.message : String(err)}`;
  }
}
