import { create } from "@bufbuild/protobuf";
import {
  type DigestKeysResponse,
  DigestKeysResponseSchema,
  type ListKeysResponse,
  ListKeysResponseSchema,
  type ReconcileResponse,
  ReconcileResponseSchema,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import type { KeyDigest } from "../contract/key-digest.js";
import type { LedgerKind } from "../contract/ledger.js";
import { wireFigure } from "../contract/z-report.js";
import { timestampFromMicros } from "./mapping.js";
import type { StoredKey } from "./reconcile-keys-repository.js";
import type { ReconcileResult } from "./reconcile-model.js";

/** The wire answer of a reconciliation. */
export function toReconcileResponse(result: ReconcileResult): ReconcileResponse {
  return create(ReconcileResponseSchema, {
    match: result.match,
    server: {
      counts: { ...result.report.counts },
      currencies: result.report.currencies.map((c) => ({ ...c })),
      tenders: result.report.tenders.map((t) => ({ ...t })),
    },
    // The wire's FigureDifference has no tender type: a tender figure carries it in its name.
    differences: result.differences.map((d) => ({
      figure: wireFigure(d),
      currency: d.currency,
      gateway: d.gateway,
      server: d.server,
    })),
    snapshotAt: timestampFromMicros(result.snapshotAtMicros),
    rowsWithoutLedger: result.rowsWithoutLedger,
    keys: { ...result.keys },
  });
}

/** The wire answer of DigestKeys. */
export function toDigestKeysResponse(digests: readonly KeyDigest[]): DigestKeysResponse {
  return create(DigestKeysResponseSchema, { ranges: digests.map((d) => ({ ...d })) });
}

/** The wire answer of ListKeys: the page's last key is the next page's token. */
export function toListKeysResponse(page: { keys: StoredKey[]; more: boolean }): ListKeysResponse {
  return create(ListKeysResponseSchema, {
    keys: page.keys.map((k) => ({
      idempotencyKey: k.key,
      source: k.source,
      saleId: k.saleId,
      kind: k.kind === null ? TransactionKind.UNSPECIFIED : WIRE_KIND[k.kind],
      currency: k.currency,
      totalMinor: k.totalMinor,
    })),
    nextPageToken: page.more ? (page.keys.at(-1)?.key ?? "") : "",
  });
}

const WIRE_KIND: Readonly<Record<LedgerKind, TransactionKind>> = {
  sale: TransactionKind.SALE,
  return: TransactionKind.RETURN,
  exchange: TransactionKind.EXCHANGE,
  post_void: TransactionKind.POST_VOID,
};
