import { createHash, randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { type Sale, SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";

/**
 * The bytes that identify a sale's content: its protobuf encoding with attribute entries in key
 * order and unknown fields dropped. protobuf-es writes fields in field-number order, so two
 * encodings of the same sale by different clients (map order, unknown fields) hash alike.
 */
export function canonicalSaleBytes(sale: Sale): Uint8Array {
  const keys = Object.keys(sale.attributes);
  let normalised = sale;
  if (keys.length > 1) {
    const attributes: Record<string, string> = {};
    for (const k of keys.sort()) attributes[k] = sale.attributes[k] ?? "";
    normalised = create(SaleSchema, { ...sale, attributes });
  }
  return toBinary(SaleSchema, normalised, { writeUnknownFields: false });
}

/** Hex SHA-256 of the canonical bytes. */
export function saleHash(sale: Sale): string {
  return createHash("sha256").update(canonicalSaleBytes(sale)).digest("hex");
}

/** Prefix of keys the server derives from content, so they read differently from client keys. */
export const CONTENT_KEY_PREFIX = "content:";

/** The idempotency key of a sale sent without one: a hash of its content. */
export function contentKey(payloadHash: string): string {
  return `${CONTENT_KEY_PREFIX}${payloadHash}`;
}

/** The key of record `offset` in a stream whose key is `streamKey`. */
export function streamRecordKey(streamKey: string, offset: number): string {
  return `${streamKey}/${offset}`;
}

/**
 * A UUIDv7 (RFC 9562): time-ordered, so record ids sort by acceptance and index well if they are
 * ever indexed.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytes(16);
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
