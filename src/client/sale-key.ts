import { createHash } from "node:crypto";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";

/** The POS identifiers a sale's default idempotency key is made of. */
export interface SaleIdentity {
  readonly source?: string;
  readonly locationId?: string;
  readonly saleId?: string;
  /** A post-void gets a key of its own: some POS give it the receipt number it voids. */
  readonly kind?: TransactionKind;
}

const MAX_KEY_LENGTH = 255;

/**
 * The default idempotency key of a sale: its POS's own identity, `pos:<source>:<location>:<sale
 * id>`, each part percent-encoded so the key is printable ASCII and the parts cannot run into
 * each other. The same sale gets the same key on every resend, from any process, in any stream.
 * A post-void's key ends in `:post-void`, so a void that reuses its original's receipt number is
 * not taken for a changed resend of the original. Identities too long for a key (255 characters)
 * are hashed instead.
 */
export function saleKey(sale: SaleIdentity): string {
  const parts = [sale.source ?? "", sale.locationId ?? "", sale.saleId ?? ""];
  if (sale.kind === TransactionKind.POST_VOID) parts.push("post-void");
  try {
    const key = `pos:${parts.map(encodeURIComponent).join(":")}`;
    if (key.length <= MAX_KEY_LENGTH) return key;
  } catch {
    // A lone UTF-16 surrogate cannot be percent-encoded; the hash below still names it.
  }
  const hash = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `pos-sha256:${hash}`;
}

/** What the server takes as an idempotency key: 1-255 printable ASCII characters. */
export function isValidKey(key: string): boolean {
  return /^[\x20-\x7e]{1,255}$/.test(key);
}
