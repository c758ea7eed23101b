import type { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  type KeyDigest,
  type KeyRange,
  MAX_DIGEST_RANGES,
  sameDigest,
} from "../contract/key-digest.js";
import type { SortedKeys } from "./key-digest.js";

/** The two server calls the search makes (each already retried by the caller). */
export interface KeyCalls {
  /** One DigestKeys call: the server's digest of each range (sorted, disjoint, at most 64). */
  digest(ranges: readonly KeyRange[]): Promise<KeyDigest[]>;
  /** One ListKeys page of `range` after `after`; `next` is "" after the last page. */
  list(range: KeyRange, after: string): Promise<{ keys: ServerKey[]; next: string }>;
}

/** A key the server holds, with the POS identity of the transaction stored under it. */
export interface ServerKey {
  readonly key: string;
  readonly source: string;
  readonly saleId: string;
  readonly kind: TransactionKind;
  readonly currency: string;
  /** The ledger's total (a post-void's negated). */
  readonly totalMinor: bigint;
}

/** Tuning of the search; the defaults suit a day of 100 to 1,000,000 transactions. */
export interface KeySearchOptions {
  /** Sub-ranges a differing range is split into. Default 16. */
  readonly fanout?: number;
  /** A range with at most this many keys on either side is listed, not split. Default 256. */
  readonly leaf?: number;
  /** The search stops once it has found this many differing keys (`truncated`). Default 10,000. */
  readonly maxDifferences?: number;
  /** Calls in flight at once. Default 4. */
  readonly concurrency?: number;
}

/** Which keys differ, and what finding them cost. */
export interface KeyDifferences {
  /** Keys the gateway has and the server lacks, in byte order: sales to resend. */
  readonly missing: string[];
  /**
   * Keys the server holds and the gateway lacks, in byte order, each with its transaction's
   * identity: one with the identity of a missing sale is that sale, stored under another key.
   */
  readonly extra: ServerKey[];
  /** True when the search stopped at `maxDifferences`: there are more. */
  readonly truncated: boolean;
  readonly digestCalls: number;
  readonly listCalls: number;
  /** Rounds of the bisection (each one batch of calls). */
  readonly rounds: number;
  /** What each round did, for a person following the search (the CLI prints it). */
  readonly trace: readonly SearchRound[];
}

/** One round of the search. */
export interface SearchRound {
  /** Ranges digested in this round, and how many of them differed (searched further). */
  readonly digested: number;
  readonly differing: number;
  /** Ranges small enough to list, key by key, in this round. */
  readonly listed: number;
  /** Keys of the gateway in the listed ranges (the listing's size on the gateway's side). */
  readonly listedKeys: number;
}

/** A range being searched: its key bounds, the gateway's keys in it (`keys[lo, hi)`), the server's digest. */
interface Searched extends KeyRange {
  readonly lo: number;
  readonly hi: number;
  readonly server: KeyDigest;
}

/**
 * Finds the keys on which a gateway and the server differ without either sending its whole day:
 * ranges whose digests differ are split `fanout` ways by the gateway's keys and digested again,
 * round by round, until a range is small enough to list (docs/design/reconciliation.md §4). For
 * N keys and d differences that is about ⌈log_fanout(N / leaf)⌉ + 1 rounds and d·fanout ranges a
 * round; every message is bounded (64 ranges, or one page of keys), whatever the day's size.
 *
 * @param whole the server's digest of the whole scope (from the Reconcile answer).
 */
export async function findKeyDifferences(
  calls: KeyCalls,
  keys: SortedKeys,
  whole: KeyDigest,
  options: KeySearchOptions = {},
): Promise<KeyDifferences> {
  const fanout = options.fanout ?? 16;
  const leaf = options.leaf ?? 256;
  const cap = options.maxDifferences ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(fanout) || fanout < 2 || !Number.isInteger(leaf) || leaf < fanout) {
    throw new RangeError("reconcile: fanout must be an integer >= 2 and leaf >= fanout");
  }
  const missing: string[] = [];
  const extra: ServerKey[] = [];
  let digestCalls = 0;
  let listCalls = 0;
  let rounds = 0;
  const trace: SearchRound[] = [];
  let stopped = false;
  const full = () => missing.length + extra.length >= cap;

  const listRange = async (r: Searched) => {
    // Both sides sorted: one merge, page by page, holding one page of the server's keys.
    let i = r.lo;
    let after = "";
    do {
      if (full()) {
        stopped = true;
        return;
      }
      const page = await calls.list({ from: r.from, to: r.to }, after);
      listCalls++;
      for (const stored of page.keys) {
        const { key } = stored;
        while (i < r.hi && (keys.keys[i] as string) < key) missing.push(keys.keys[i++] as string);
        if (i < r.hi && keys.keys[i] === key) i++;
        else extra.push(stored);
      }
      after = page.next;
    } while (after !== "");
    while (i < r.hi) missing.push(keys.keys[i++] as string);
  };

  let frontier: Searched[] = [{ from: "", to: "", lo: 0, hi: keys.size, server: whole }];
  while (frontier.length > 0 && !full()) {
    rounds++;
    const toList: Searched[] = [];
    const toSplit: Omit<Searched, "server">[] = [];
    for (const r of frontier) {
      const gateway = r.hi - r.lo;
      const server = Number(r.server.count);
      if (server === 0) for (let i = r.lo; i < r.hi; i++) missing.push(keys.keys[i] as string);
      else if (gateway <= leaf || server <= leaf) toList.push(r);
      else toSplit.push(...split(keys, r, fanout));
    }
    const batches: Omit<Searched, "server">[][] = [];
    for (let i = 0; i < toSplit.length; i += MAX_DIGEST_RANGES) {
      batches.push(toSplit.slice(i, i + MAX_DIGEST_RANGES));
    }
    const next: Searched[][] = batches.map(() => []);
    await pool(
      [
        ...toList.map((r) => () => listRange(r)),
        ...batches.map((batch, b) => async () => {
          const digests = await calls.digest(batch.map(({ from, to }) => ({ from, to })));
          digestCalls++;
          batch.forEach((r, i) => {
            const server = digests[i] ?? { count: 0n, digest: 0n };
            if (!sameDigest(server, keys.digest(r.lo, r.hi))) next[b]?.push({ ...r, server });
          });
        }),
      ],
      concurrency,
    );
    frontier = next.flat();
    trace.push({
      digested: toSplit.length,
      differing: frontier.length,
      listed: toList.length,
      listedKeys: toList.reduce((n, r) => n + r.hi - r.lo, 0),
    });
  }
  missing.sort();
  extra.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keptMissing = missing.slice(0, cap);
  const keptExtra = extra.slice(0, cap - keptMissing.length);
  return {
    missing: keptMissing,
    extra: keptExtra,
    truncated:
      stopped ||
      frontier.length > 0 ||
      keptMissing.length + keptExtra.length < missing.length + extra.length,
    digestCalls,
    listCalls,
    rounds,
    trace,
  };
}

/** `r` split into up to `fanout` ranges of about equal gateway counts, in order, covering it. */
function split(keys: SortedKeys, r: Searched, fanout: number): Omit<Searched, "server">[] {
  const count = r.hi - r.lo;
  const starts: number[] = [];
  for (let k = 0; k < fanout; k++) starts.push(r.lo + Math.floor((k * count) / fanout));
  const parts: Omit<Searched, "server">[] = [];
  // The caller splits only ranges of more than `leaf` >= `fanout` keys: no part is empty.
  starts.forEach((lo, k) => {
    const hi = k + 1 < starts.length ? (starts[k + 1] as number) : r.hi;
    parts.push({
      from: k === 0 ? r.from : (keys.keys[lo] as string),
      to: k + 1 < starts.length ? (keys.keys[hi] as string) : r.to,
      lo,
      hi,
    });
  });
  return parts;
}

/** Runs `tasks` with at most `limit` at once; the first failure rejects. */
async function pool(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
