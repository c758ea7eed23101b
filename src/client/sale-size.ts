import { create, isMessage, toBinary } from "@bufbuild/protobuf";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { SaleInput } from "./ingest-client.js";

/** Per field: a tag (≤ 2 bytes here) and a length or varint value (≤ 10 bytes). */
const FIELD_OVERHEAD = 12;

/**
 * An upper bound of a sale's encoded size, from string lengths (≤ 3 UTF-8 bytes per UTF-16 unit)
 * and a fixed overhead per field: a walk over the fields, far cheaper than encoding, and exact
 * enough to tell a receipt from a megabyte.
 */
function sizeBound(sale: SaleInput): number {
  const text = (s: string | undefined) => FIELD_OVERHEAD + 3 * (s?.length ?? 0);
  let size =
    text(sale.saleId) +
    text(sale.locationId) +
    text(sale.registerId) +
    text(sale.source) +
    text(sale.currency) +
    4 * FIELD_OVERHEAD; // occurred_at, totals, customer and their framing
  for (const l of sale.lineItems ?? [])
    size += 2 * FIELD_OVERHEAD + text(l.sku) + text(l.name) + 4 * FIELD_OVERHEAD;
  size += (sale.payments?.length ?? 0) * 3 * FIELD_OVERHEAD;
  size += 4 * FIELD_OVERHEAD;
  const c = sale.customer;
  if (c) size += text(c.customerId) + text(c.name) + text(c.email) + text(c.phone);
  for (const [k, v] of Object.entries(sale.attributes ?? {}))
    size += FIELD_OVERHEAD + text(k) + text(v);
  return size;
}

/**
 * Why a sale cannot be sent within `maxBytes`, or undefined when it can. Only a sale whose bound
 * exceeds the limit is encoded to know exactly (encoding also finds values protobuf cannot hold).
 */
export function sizeProblem(sale: SaleInput, maxBytes: number): string | undefined {
  if (sizeBound(sale) <= maxBytes) return undefined;
  try {
    const message = isMessage(sale, SaleSchema) ? sale : create(SaleSchema, sale);
    const bytes = toBinary(SaleSchema, message).length;
    return bytes <= maxBytes
      ? undefined
      : `sale is ${bytes} bytes encoded; the limit is ${maxBytes} (the server's MAX_MESSAGE_BYTES)`;
  } catch (err) {
    return `sale cannot be encoded: ${err instanceof Error ? err.message : String(err)}`;
  }
}
