import { hash, randomUUID } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { isCanonicalSaleEncoding } from "../protobuf/canonical-sale-check.js";
import "../protobuf/text-encoding.js";

/**
 * The bytes that identify a sale's content: a deterministic encoding of the decoded sale, so two
 * encodings of one sale (fields in another order, defaults written out, map entries in another
 * order, length prefixes padded) have the same canonical bytes, and two different sales never
 * do. It is protobuf-es' encoding (known fields in field-number order, defaults left out, each
 * message's unknown fields after its known ones, as received) with attribute entries in key
 * order. Unknown fields count: they are fields of a newer schema, and a sale that differs in one
 * of them is another sale.
 */
export function canonicalSaleBytes(sale: Sale): Uint8Array {
  const keys = Object.keys(sale.attributes);
  let normalised = sale;
  if (keys.length > 1) {
    const attributes: Record<string, string> = {};
    for (const k of keys.sort()) attributes[k] = sale.attributes[k] ?? "";
    // A shallow copy, not create(): create() copies the whole sale field by field, and costs
    // more than the encoding.
    normalised = { ...sale, attributes };
  }
  return toBinary(SaleSchema, normalised);
}

/** The bytes a sale is stored as, and their hex SHA-256, which tells a retry from a reused key. */
export interface SaleFingerprint {
  readonly bytes: Uint8Array;
  readonly hash: string;
}

/**
 * Fingerprints a sale: its canonical bytes, which are also what is stored, so a stored row's
 * payload hash is the SHA-256 of its own `sale` column whatever encoding arrived first.
 * `clientBytes`, the encoding the sale was decoded from, are used as they are when they are
 * already canonical, as nearly every encoder's are: the check is a scan of the bytes, re-encoding
 * costs several times more. Otherwise the sale is re-encoded.
 */
export function fingerprintSale(sale: Sale, clientBytes?: Uint8Array): SaleFingerprint {
  const bytes =
    clientBytes && isCanonicalSaleEncoding(clientBytes) ? clientBytes : canonicalSaleBytes(sale);
  // One-shot hash: no Hash object per record (createHash costs more than the digest here).
  return { bytes, hash: hash("sha256", bytes, "hex") };
}

/** Hex SHA-256 of the canonical bytes. */
export function saleHash(sale: Sale): string {
  return fingerprintSale(sale).hash;
}

/** Prefix of keys the server derives from content, so they read differently from client keys. */
export const CONTENT_KEY_PREFIX = "content:";

/** The idempotency key of a sale sent without one: a hash of its content. */
export function contentKey(payloadHash: string): string {
  return `${CONTENT_KEY_PREFIX}${payloadHash}`;
}

export { isValidIdempotencyKey } from "../contract/wire.js";

/** The key of record `offset` in a stream whose key is `streamKey`. */
export function streamRecordKey(streamKey: string, offset: number): string {
  return `${streamKey}/${offset}`;
}

/**
 * A UUIDv7 (RFC 9562): time-ordered, so record ids sort by acceptance and index well if they are
 * ever indexed. Built from a v4 UUID, whose random bits Node draws from a pooled CSPRNG buffer and
 * whose variant bits are already right: only the 48-bit timestamp and the version digit change.
 */
export function uuidv7(now = Date.now()): string {
  const random = randomUUID();
  // A stream mints hundreds of ids per millisecond: format each millisecond's prefix once.
  if (now !== lastMs) {
    const ms = now.toString(16).padStart(12, "0");
    lastMs = now;
    lastPrefix = `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7`;
  }
  return lastPrefix + random.slice(15);
}

let lastMs = -1;
let lastPrefix = "";
