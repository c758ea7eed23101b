import type { Metadata } from "@grpc/grpc-js";
import { ValidationError } from "../errors.js";

const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/**
 * The `idempotency-key` metadata, if sent: printable ASCII, 1-255 characters, given once. A
 * present but malformed key is an error rather than ignored, because silently deriving a key
 * instead would change what the client's retries deduplicate against.
 */
export function readIdempotencyKey(metadata: Metadata): string | undefined {
  const values = metadata.get("idempotency-key");
  if (values.length === 0) return undefined;
  const value = values[0];
  if (values.length > 1 || typeof value !== "string" || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ValidationError([
      {
        field: "metadata.idempotency-key",
        description: "must be sent once, as 1-255 printable ASCII characters",
      },
    ]);
  }
  return value;
}

/** The `authorization` metadata value, if sent. */
export function readAuthorization(metadata: Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  return typeof value === "string" ? value : undefined;
}
