import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type DigestKeysRequest,
  DigestKeysRequestSchema,
  type DigestKeysResponse,
  type ListKeysRequest,
  ListKeysRequestSchema,
  type ListKeysResponse,
  type ReconcileRequest,
  type ReconcileResponse,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { sameDigest } from "../contract/key-digest.js";
import { SortedKeys } from "./key-digest.js";
import {
  fromReconcileResponse,
  type ReconcileAnswer,
  type ReconcileInput,
  type ReconcileOptions,
  scopeOf,
  toReconcileRequest,
} from "./reconcile.js";
import { findKeyDifferences } from "./reconcile-keys.js";

/** The three ReconcileService calls, each already retried; `attempts` of the first. */
export interface ReconcileCalls {
  reconcile(request: ReconcileRequest): Promise<{ response: ReconcileResponse; attempts: number }>;
  digestKeys(request: DigestKeysRequest): Promise<DigestKeysResponse>;
  listKeys(request: ListKeysRequest): Promise<ListKeysResponse>;
}

/**
 * The whole reconciliation protocol `client.reconcile` runs: one Reconcile call with the
 * gateway's figures and the digest of its keys; when the keys differ, the bisection
 * (`findKeyDifferences`) over DigestKeys and ListKeys, every round filtered to the rows accepted by
 * the Reconcile answer's `snapshot_at`, so all rounds compare the same stored sales while new ones
 * keep arriving. A matching day costs one message.
 */
export async function reconcileDay(
  calls: ReconcileCalls,
  input: ReconcileInput,
  options: ReconcileOptions,
): Promise<ReconcileAnswer> {
  const keys = input.keys === undefined ? undefined : new SortedKeys(input.keys);
  const mine = keys?.digest(0, keys.size);
  const { response, attempts } = await calls.reconcile(toReconcileRequest(input, mine));
  const answer = fromReconcileResponse(response, attempts);
  if (!keys || !mine || sameDigest(mine, answer.keys)) return { ...answer, calls: 1 };

  const scope = scopeOf(input);
  const asOf: Timestamp | undefined = response.snapshotAt;
  const found = await findKeyDifferences(
    {
      async digest(ranges) {
        const res = await calls.digestKeys(
          create(DigestKeysRequestSchema, { scope, ranges: [...ranges], ...(asOf && { asOf }) }),
        );
        return res.ranges.map((r) => ({ count: r.count, digest: r.digest }));
      },
      async list(range, after) {
        const res = await calls.listKeys(
          create(ListKeysRequestSchema, {
            scope,
            range,
            pageToken: after,
            ...(asOf && { asOf }),
          }),
        );
        return {
          keys: res.keys.map((k) => ({
            key: k.idempotencyKey,
            source: k.source,
            saleId: k.saleId,
            kind: k.kind,
            currency: k.currency,
            totalMinor: k.totalMinor,
          })),
          next: res.nextPageToken,
        };
      },
    },
    keys,
    answer.keys,
    options.search,
  );
  return {
    ...answer,
    keyDifferences: found,
    calls: 1 + found.digestCalls + found.listCalls,
  };
}
