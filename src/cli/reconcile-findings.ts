import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { ReconcileAnswer, ServerKey } from "../client/index.js";
import { type FileTransaction, identity } from "./reconcile-file.js";

/** A transaction of the file the server lacks. */
export interface MissingTransaction {
  readonly key: string;
  readonly lines: string;
}

/** A transaction of the file the server holds under another key than the file's. */
export interface RekeyedTransaction extends MissingTransaction {
  readonly storedAs: string;
}

/** What the key search means for the file: which of its transactions differ, and whether all is well. */
export interface Findings {
  /** Not on the server: `--resend` sends these. */
  readonly missing: MissingTransaction[];
  /** On the server under another key: stored, so never resent (that would store it twice). */
  readonly rekeyed: RekeyedTransaction[];
  /** On the server, in the scope, not in the file. */
  readonly extra: ServerKey[];
  /** The search stopped at its limit: more differ than listed. */
  readonly truncated: boolean;
  /**
   * The server holds exactly the file's transactions: every figure agrees and the only key
   * differences are transactions stored under another key.
   */
  readonly match: boolean;
}

const KIND_NAMES: Readonly<Record<number, string>> = {
  [TransactionKind.UNSPECIFIED]: "sale",
  [TransactionKind.SALE]: "sale",
  [TransactionKind.RETURN]: "return",
  [TransactionKind.EXCHANGE]: "exchange",
  [TransactionKind.POST_VOID]: "post_void",
};

/**
 * Pairs the server's extra keys with the file's missing ones by the transaction's identity
 * (source, sale id, kind, currency and total): such a pair is one transaction stored under
 * another key (a gateway that keyed a retry its own way), not a missing sale and an extra one.
 */
export function findingsOf(
  answer: ReconcileAnswer,
  file: ReadonlyMap<string, FileTransaction>,
): Findings {
  const found = answer.keyDifferences;
  const figuresAgree = answer.differences.every((d) => d.figure.startsWith("keys."));
  if (!found) {
    return { missing: [], rekeyed: [], extra: [], truncated: false, match: answer.match };
  }
  const missingByIdentity = new Map<string, string[]>();
  for (const key of found.missing) {
    const t = file.get(key);
    if (!t) continue;
    const same = missingByIdentity.get(t.identity) ?? [];
    same.push(key);
    missingByIdentity.set(t.identity, same);
  }
  const rekeyed: RekeyedTransaction[] = [];
  const rekeyedKeys = new Set<string>();
  const extra: ServerKey[] = [];
  for (const stored of found.extra) {
    const id = identity(
      stored.source,
      stored.saleId,
      KIND_NAMES[stored.kind] ?? "unknown",
      stored.currency,
      stored.totalMinor,
    );
    const key = missingByIdentity.get(id)?.shift();
    if (key === undefined) {
      extra.push(stored);
      continue;
    }
    rekeyed.push({ key, lines: file.get(key)?.lines ?? "", storedAs: stored.key });
    rekeyedKeys.add(key);
  }
  const missing = found.missing
    .filter((key) => !rekeyedKeys.has(key))
    .map((key) => ({ key, lines: file.get(key)?.lines ?? "" }));
  return {
    missing,
    rekeyed,
    extra,
    truncated: found.truncated,
    match:
      figuresAgree &&
      answer.rowsWithoutLedger === 0n &&
      missing.length === 0 &&
      extra.length === 0 &&
      !found.truncated,
  };
}
