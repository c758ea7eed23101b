/**
 * What server and client must agree on beyond the sale itself: the idempotency-key form, the
 * defaults of the server's limits (which the client assumes unless told otherwise), and how many
 * rejections one stream's answer lists. One module, imported by both sides (and exported to
 * gateways as `pos-ingest/rules`), so the two cannot drift apart.
 */

const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The rule an idempotency key must follow, as the server words it in a refusal. */
export const IDEMPOTENCY_KEY_RULE = "must be 1-255 printable ASCII characters";

/** Whether `value` is a well-formed idempotency key: 1-255 printable ASCII characters. */
export function isValidIdempotencyKey(value: string): boolean {
  return IDEMPOTENCY_KEY_PATTERN.test(value);
}

/** The server's default MAX_MESSAGE_BYTES: the largest request it decodes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** The server's default MAX_LINE_ITEMS: the most lines a sale may have. */
export const DEFAULT_MAX_LINE_ITEMS = 5_000;

/**
 * The most rejections a stream's answer lists; a stream of at most this many records has every
 * rejection listed, which is why the client streams at most this many records at a time.
 */
export const MAX_LISTED_REJECTIONS = 1_000;
