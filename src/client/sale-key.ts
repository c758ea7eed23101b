import { createHash } from "node:crypto";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { isValidIdempotencyKey } from "../contract/wire.js";

/** The POS identifiers a sale's default idempotency key is made of. */
export interface SaleIdentity {
  readonly source?: string;
  readonly locationId?: string;
  readonly saleId?: string;
  /** A POST_VOID gets a key of its own (see `saleKey`); any other kind keys as a v1 sale. */
  readonly kind?: TransactionKind;
}

const MAX_KEY_LENGTH = 255;

/**
 * The default idempotency key of a sale: its POS's own identity, `pos:<source>:<location>:<sale
 * id>`, each part percent-encoded so the key is printable ASCII and the parts cannot run into
 * each other. The same sale gets the same key on every resend, from any process, in any stream.
 * A post-void is keyed `pos:<source>:<location>:<sale id>:post-void`: some POS give the void the
 * voided receipt's number, and the void must not be taken for a resend of the sale. Identities
 * too long for a key (255 characters) are hashed instead.
 */
export function saleKey(sale: SaleIdentity): string {
  const parts = [sale.source ?? "", sale.locationId ?? "", sale.saleId ?? ""];
  const suffix = sale.kind === TransactionKind.POST_VOID ? ":post-void" : "";
  try {
    const key = `pos:${parts.map(encodeURIComponent).join(":")}${suffix}`;
    if (key.length <= MAX_KEY_LENGTH) return key;
  } catch {
    // A lone UTF-16 surrogate cannot be percent-encoded; the hash below still names it.
  }
  const hash = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `pos-sha256:${hash}${suffix}`;
}

/** What the server takes as an idempotency key: 1-255 printable ASCII characters. */
export const isValidKey: (key: string) => boolean = isValidIdempotencyKey;
