import type { Metadata } from "@grpc/grpc-js";
import { IDEMPOTENCY_KEY_RULE } from "../contract/wire.js";
import { ValidationError } from "../errors.js";
import { isValidIdempotencyKey } from "./canonical.js";

/**
 * The `idempotency-key` metadata, if sent: printable ASCII, 1-255 characters, given once. A
 * present but malformed key is an error rather than ignored, because silently deriving a key
 * instead would change what the client's retries deduplicate against.
 */
export function readIdempotencyKey(metadata: Metadata): string | undefined {
  const values = metadata.get("idempotency-key");
  if (values.length === 0) return undefined;
  const value = values[0];
  if (values.length > 1 || typeof value !== "string" || !isValidIdempotencyKey(value)) {
    throw new ValidationError([
      {
        field: "metadata.idempotency-key",
        description: "must be sent once, as 1-255 printable ASCII characters",
      },
    ]);
  }
  return value;
}

/**
 * The key a unary call is stored under: the metadata's, or the request's own `idempotency_key`
 * field (empty means not sent). Both may be sent only if they agree: picking one silently would
 * let a retry that sends the other deduplicate against a different key.
 */
export function unaryIdempotencyKey(
  metadataKey: string | undefined,
  recordKey: string,
): string | undefined {
  if (recordKey === "") return metadataKey;
  if (!isValidIdempotencyKey(recordKey)) {
    throw new ValidationError([{ field: "idempotency_key", description: IDEMPOTENCY_KEY_RULE }]);
  }
  if (metadataKey !== undefined && metadataKey !== recordKey) {
    throw new ValidationError([
      {
        field: "idempotency_key",
        description: "differs from the idempotency-key metadata; send one, or the same in both",
      },
    ]);
  }
  return recordKey;
}

/** The `authorization` metadata value, if sent. */
export function readAuthorization(metadata: Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * Every `x-forwarded-for` value, joined in order (a proxy may add a header rather than extend
 * one). Only believed when the peer is a trusted proxy; see src/auth/client-address.ts.
 */
export function readForwardedFor(metadata: Metadata): string | undefined {
  const values = metadata.get("x-forwarded-for").filter((v) => typeof v === "string");
  return values.length > 0 ? values.join(",") : undefined;
}
