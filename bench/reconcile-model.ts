import { create, toBinary } from "@bufbuild/protobuf";
import {
  DigestKeysRequestSchema,
  DigestKeysResponseSchema,
  ListKeysRequestSchema,
  ListKeysResponseSchema,
} from "../gen/pos/ingest/v1/reconcile_pb.js";
import { TransactionKind } from "../gen/pos/ingest/v1/sale_pb.js";
import { SortedKeys } from "../src/client/key-digest.js";
import { findKeyDifferences, type KeyCalls } from "../src/client/reconcile-keys.js";
import { MAX_KEY_PAGE } from "../src/contract/key-digest.js";
import { BENCH_LOCATION } from "./reconcile-day.js";

/** What the search cost for one day size, with the server played in memory. */
export interface ModelRun {
  readonly keys: number;
  readonly missing: number;
  readonly found: number;
  readonly digestCalls: number;
  readonly listCalls: number;
  readonly rounds: number;
  /** Protobuf bytes of the largest request and response, and of all of them. */
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly totalBytes: number;
  readonly ms: number;
}

/**
 * A day of `size` keys shaped like the bench's (`saleKey` of its receipts) and `missing` of
 * them, spread over it, that the server lacks.
 */
export function syntheticDay(size: number, missing: number) {
  const all = Array.from(
    { length: size },
    (_, i) =>
      `pos:bench-pos:${BENCH_LOCATION}:T${(i % 8) + 1}-20261127-${String(i).padStart(8, "0")}`,
  );
  const absent = new Set(
    Array.from({ length: missing }, (_, k) => Math.floor(((k + 0.5) * size) / missing)),
  );
  return { all, absent };
}

/**
 * The client's own bisection (`findKeyDifferences`, default options) of the gateway's keys
 * `all` against a server that holds all but the indexes `absent`, played in memory: it answers
 * exactly what DigestKeys and ListKeys answer, so message counts and sizes for days too large to
 * store on this machine in a bench's minutes. Every request and response is built as the wire
 * message and encoded, to count its bytes.
 */
export async function modelSearch(
  all: readonly string[],
  absent: ReadonlySet<number>,
): Promise<ModelRun> {
  const size = all.length;
  const missing = absent.size;
  const server = new SortedKeys(all.filter((_, i) => !absent.has(i)));
  const scope = {
    locationId: BENCH_LOCATION,
    period: { case: "businessDay" as const, value: "2026-11-27" },
  };
  let maxRequestBytes = 0;
  let maxResponseBytes = 0;
  let totalBytes = 0;
  const count = (request: Uint8Array, response: Uint8Array) => {
    maxRequestBytes = Math.max(maxRequestBytes, request.length);
    maxResponseBytes = Math.max(maxResponseBytes, response.length);
    totalBytes += request.length + response.length;
  };
  const span = (from: string, to: string) => ({
    lo: server.lowerBound(from),
    hi: server.lowerBound(to, true),
  });
  const calls: KeyCalls = {
    async digest(ranges) {
      const digests = ranges.map(({ from, to }) => {
        const { lo, hi } = span(from, to);
        return server.digest(lo, hi);
      });
      count(
        toBinary(
          DigestKeysRequestSchema,
          create(DigestKeysRequestSchema, { scope, ranges: [...ranges] }),
        ),
        toBinary(DigestKeysResponseSchema, create(DigestKeysResponseSchema, { ranges: digests })),
      );
      return digests;
    },
    async list(range, after) {
      const { lo, hi } = span(range.from, range.to);
      const start = after === "" ? lo : Math.max(lo, server.lowerBound(`${after}\u0000`));
      const page = server.keys.slice(start, Math.min(hi, start + MAX_KEY_PAGE));
      const next = start + page.length < hi ? (page.at(-1) ?? "") : "";
      const keys = page.map((key) => ({
        key,
        source: "bench-pos",
        saleId: key.slice(key.lastIndexOf(":") + 1),
        kind: TransactionKind.SALE,
        currency: "EUR",
        totalMinor: 1210n,
      }));
      count(
        toBinary(
          ListKeysRequestSchema,
          create(ListKeysRequestSchema, { scope, range, pageToken: after }),
        ),
        toBinary(
          ListKeysResponseSchema,
          create(ListKeysResponseSchema, {
            keys: keys.map((k) => ({ ...k, idempotencyKey: k.key })),
            nextPageToken: next,
          }),
        ),
      );
      return { keys, next };
    },
  };
  const began = performance.now();
  const gateway = new SortedKeys(all);
  const found = await findKeyDifferences(calls, gateway, server.digest(0, server.size));
  const expected = all.filter((_, i) => absent.has(i)).sort();
  if (JSON.stringify(found.missing) !== JSON.stringify(expected) || found.extra.length > 0) {
    throw new Error(`model search at ${size} keys found ${found.missing.length} missing`);
  }
  return {
    keys: size,
    missing,
    found: found.missing.length,
    digestCalls: found.digestCalls,
    listCalls: found.listCalls,
    rounds: found.rounds,
    maxRequestBytes,
    maxResponseBytes,
    totalBytes,
    ms: performance.now() - began,
  };
}
