import { createHash } from "node:crypto";
import type { KeyDigest } from "../contract/key-digest.js";

/**
 * h(key) of the key digest: the first 8 bytes of SHA-256 of the key, big-endian, unsigned
 * (src/contract/key-digest.ts). The server computes the same in SQL.
 */
export function keyHash(key: string): bigint {
  return createHash("sha256").update(key, "utf8").digest().readBigUInt64BE(0);
}

/** The digest of a set of keys (each counted once, whatever the order). */
export function keyDigestOf(keys: Iterable<string>): KeyDigest {
  let count = 0n;
  let digest = 0n;
  for (const key of new Set(keys)) {
    count++;
    digest = BigInt.asUintN(64, digest + keyHash(key));
  }
  return { count, digest };
}

/**
 * A gateway's keys sorted in byte order with prefix sums of their hashes, so the digest of any
 * run of them is two lookups: what bisection asks for at every range of every round.
 */
export class SortedKeys {
  readonly keys: readonly string[];
  private readonly prefix: BigUint64Array;

  constructor(keys: Iterable<string>) {
    // Keys are printable ASCII: UTF-16 order is byte order, the server's `collate "C"`.
    this.keys = [...new Set(keys)].sort();
    this.prefix = new BigUint64Array(this.keys.length + 1);
    this.keys.forEach((key, i) => {
      this.prefix[i + 1] = BigInt.asUintN(64, (this.prefix[i] ?? 0n) + keyHash(key));
    });
  }

  get size(): number {
    return this.keys.length;
  }

  /** The digest of keys[lo, hi). */
  digest(lo: number, hi: number): KeyDigest {
    return {
      count: BigInt(hi - lo),
      digest: BigInt.asUintN(64, (this.prefix[hi] ?? 0n) - (this.prefix[lo] ?? 0n)),
    };
  }

  /** The index of the first key >= `bound` ("" as an upper bound means the end). */
  lowerBound(bound: string, end = false): number {
    if (end && bound === "") return this.keys.length;
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as string) < bound) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
