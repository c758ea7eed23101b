import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { keyDigestOf, SortedKeys } from "../../src/client/key-digest.js";
import { findKeyDifferences, type KeyCalls } from "../../src/client/reconcile-keys.js";
import { inRange, type KeyRange, MAX_DIGEST_RANGES } from "../../src/contract/key-digest.js";

// The search as an algorithm: against a server side that answers DigestKeys and ListKeys from a
// set of keys by the contract's definitions (test/e2e/reconcile-keys.test.ts runs it against the
// real server and SQL), it must find exactly the set differences, whatever the sets and tuning.

/** A server side holding `stored`, answering as the contract says, and what it was asked. */
function serverOf(stored: readonly string[], pageSize = 1000) {
  const keys = [...new Set(stored)].sort();
  const asked = { digestRanges: [] as number[], pages: 0 };
  const calls: KeyCalls = {
    async digest(ranges: readonly KeyRange[]) {
      expect(ranges.length).toBeGreaterThan(0);
      expect(ranges.length).toBeLessThanOrEqual(MAX_DIGEST_RANGES);
      // Sorted and disjoint, as the server's parser requires.
      ranges.forEach((r, i) => {
        if (r.to !== "") expect(r.from < r.to).toBe(true);
        const previous = ranges[i - 1];
        if (previous) expect(previous.to !== "" && previous.to <= r.from).toBe(true);
      });
      asked.digestRanges.push(ranges.length);
      return ranges.map((r) => keyDigestOf(keys.filter((k) => inRange(k, r))));
    },
    async list(range: KeyRange, after: string) {
      asked.pages++;
      const inIt = keys.filter((k) => inRange(k, range) && k > after);
      const page = inIt.slice(0, pageSize);
      return {
        keys: page.map((key) => ({
          key,
          source: "pos",
          saleId: key,
          kind: TransactionKind.SALE,
          currency: "EUR",
          totalMinor: 100n,
        })),
        next: inIt.length > pageSize ? (page.at(-1) ?? "") : "",
      };
    },
  };
  return { calls, whole: keyDigestOf(keys), asked };
}

const key = fc.stringMatching(/^[!-~]{1,12}$/);

describe("findKeyDifferences", () => {
  it("finds exactly the keys one side has and the other lacks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 400 }),
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.constantFrom([2, 2], [4, 8], [16, 256], [3, 3]),
        fc.integer({ min: 1, max: 7 }),
        async (common, onlyGateway, onlyServer, [fanout, leaf], pageSize) => {
          const gatewaySide = [...new Set([...common, ...onlyGateway])];
          const serverSide = [...new Set([...common, ...onlyServer])];
          const server = serverOf(serverSide, pageSize);
          const found = await findKeyDifferences(
            server.calls,
            new SortedKeys(gatewaySide),
            server.whole,
            { fanout: fanout as number, leaf: leaf as number },
          );
          const serverSet = new Set(serverSide);
          const gatewaySet = new Set(gatewaySide);
          expect(found.missing).toEqual(gatewaySide.filter((k) => !serverSet.has(k)).sort());
          expect(found.extra.map((e) => e.key)).toEqual(
            serverSide.filter((k) => !gatewaySet.has(k)).sort(),
          );
          expect(found.truncated).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("costs few bounded calls for a few differences in a big day", async () => {
    const day = Array.from({ length: 100_000 }, (_, i) => `pos:till:store-1:${i * 7919}`);
    const lost = [5, 17_000, 17_001, 42_424, 99_999].map((i) => day[i] as string);
    const server = serverOf(day.filter((k) => !lost.includes(k)));
    const found = await findKeyDifferences(server.calls, new SortedKeys(day), server.whole);
    expect(found.missing).toEqual([...lost].sort());
    expect(found.extra).toEqual([]);
    // 100,000 / 16 / 16 = 390 > 256: three rounds of digests, then the leaves are listed.
    expect(found.rounds).toBe(4);
    expect(found.digestCalls).toBeLessThanOrEqual(1 + 2 + 2);
    expect(found.listCalls).toBeLessThanOrEqual(lost.length);
    expect(Math.max(...server.asked.digestRanges)).toBeLessThanOrEqual(MAX_DIGEST_RANGES);
  });

  it("refuses a tuning that cannot split", async () => {
    const server = serverOf(["a"]);
    await expect(
      findKeyDifferences(server.calls, new SortedKeys(["b"]), server.whole, {
        fanout: 16,
        leaf: 4,
      }),
    ).rejects.toThrow(/leaf >= fanout/);
  });
});
