import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { isRetryable, saleKey } from "../../src/client/index.js";
import { retryPolicy, withRetries } from "../../src/client/retry.js";

describe("saleKey", () => {
  it("names a sale by its POS ids, percent-encoded so the parts cannot run together", () => {
    expect(saleKey({ source: "square", locationId: "L1", saleId: "42" })).toBe("pos:square:L1:42");
    expect(saleKey({ source: "a:b", locationId: "c", saleId: "d" })).not.toBe(
      saleKey({ source: "a", locationId: "b:c", saleId: "d" }),
    );
    expect(saleKey({ source: "pos", locationId: "Café 1", saleId: "x/y" })).toBe(
      "pos:pos:Caf%C3%A9%201:x%2Fy",
    );
  });

  it("hashes identities too long for a key, or not encodable, into a fixed-length key", () => {
    const long = saleKey({ source: "s", locationId: "l", saleId: "9".repeat(300) });
    expect(long).toMatch(/^pos-sha256:[0-9a-f]{64}$/);
    expect(saleKey({ source: "s", locationId: "l", saleId: "9".repeat(300) })).toBe(long);
    expect(saleKey({ source: "s", locationId: "l", saleId: "\ud800" })).toMatch(/^pos-sha256:/);
  });

  it("keys a post-void apart from the sale it voids, even under the voided receipt's number", () => {
    const ids = { source: "square", locationId: "L1", saleId: "42" };
    expect(saleKey({ ...ids, kind: TransactionKind.POST_VOID })).toBe("pos:square:L1:42:post-void");
    for (const kind of [TransactionKind.SALE, TransactionKind.RETURN, TransactionKind.EXCHANGE]) {
      expect(saleKey({ ...ids, kind })).toBe("pos:square:L1:42");
    }
    const long = { source: "s", locationId: "l", saleId: "9".repeat(300) };
    expect(saleKey({ ...long, kind: TransactionKind.POST_VOID })).toBe(
      `${saleKey(long)}:post-void`,
    );
  });
});

describe("retry policy", () => {
  it.each([
    [Code.Unavailable, undefined, true],
    [Code.DeadlineExceeded, undefined, true],
    [Code.Aborted, undefined, true],
    [Code.ResourceExhausted, 250, true],
    [Code.ResourceExhausted, undefined, false],
    [Code.InvalidArgument, 250, false],
    [Code.Unauthenticated, undefined, false],
    [Code.FailedPrecondition, undefined, false],
    [Code.Canceled, undefined, false],
    [Code.Internal, undefined, false],
  ])("code %s with delay %s is retryable: %s", (code, delay, expected) => {
    expect(isRetryable(code, delay)).toBe(expected);
  });

  const unavailable = (pushbackMs: string) =>
    new ConnectError("down", Code.Unavailable, { "grpc-retry-pushback-ms": pushbackMs });

  it("waits at least the server's pushback before the next attempt", async () => {
    const times: number[] = [];
    const result = await withRetries(
      async ({ number }) => {
        times.push(performance.now());
        if (number < 3) throw unavailable("120");
        return number;
      },
      { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, multiplier: 2, maxElapsedMs: 10_000 },
    );
    expect(result).toBe(3);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(115);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(115);
  });

  it("keeps backoff within its exponential bound, and gives up when the time budget would pass", async () => {
    const delays: number[] = [];
    const err = await withRetries(
      () => Promise.reject(unavailable("0")),
      { maxAttempts: 100, initialDelayMs: 10, maxDelayMs: 40, multiplier: 2, maxElapsedMs: 300 },
      undefined,
      (_e, delay) => delays.push(delay),
    ).catch((e: unknown) => e as { code: Code; attempts: number });
    expect(err.code).toBe(Code.Unavailable);
    expect(err.attempts).toBe(delays.length + 1);
    delays.forEach((d, i) => {
      expect(d).toBeLessThanOrEqual(Math.min(40, 10 * 2 ** i));
    });
    // Full jitter: not every delay sits on its bound.
    expect(new Set(delays.map(Math.round)).size).toBeGreaterThan(1);
  });

  it("refuses a policy that would retry without bound", () => {
    expect(() => retryPolicy({ maxAttempts: Number.NaN })).toThrow(RangeError);
    expect(() => retryPolicy({ maxElapsedMs: -1 })).toThrow(RangeError);
    expect(retryPolicy({ maxAttempts: undefined }).maxAttempts).toBe(10);
  });

  it("retries a CANCELED the caller did not ask for (a connection closed cleanly) as UNAVAILABLE", async () => {
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls === 1) throw new ConnectError("stream closed", Code.Canceled);
        return "ok";
      },
      { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1, multiplier: 2, maxElapsedMs: 1_000 },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(2);
  });

  it("does not retry a negative pushback without RetryInfo on RESOURCE_EXHAUSTED", async () => {
    let calls = 0;
    await expect(
      withRetries(
        () => {
          calls++;
          throw new ConnectError("full", Code.ResourceExhausted, {
            "grpc-retry-pushback-ms": "-1",
          });
        },
        { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, multiplier: 2, maxElapsedMs: 1_000 },
      ),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted, attempts: 1 });
    expect(calls).toBe(1);
  });
});
