import { Code, ConnectError } from "@connectrpc/connect";
import { type IngestError, toIngestError } from "./errors.js";

/** How a failed call is tried again. Every bound applies; the first one hit ends the retries. */
export interface RetryPolicy {
  /** Attempts in total, the first included; 1 turns retries off. */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff. */
  readonly initialDelayMs: number;
  /** Upper bound of any backoff (a longer delay the server asks for is still honoured). */
  readonly maxDelayMs: number;
  /** Growth of the backoff bound per attempt. */
  readonly multiplier: number;
  /**
   * No retry starts later than this after the first failure (a delay that would cross it ends
   * the retries). Counted from the failure, not the first attempt, so a long stream that breaks
   * late still gets its resends; each attempt's own deadline is the client's `timeoutMs`.
   */
  readonly maxElapsedMs: number;
}

/** Merges `overrides` (undefined fields ignored) over the defaults and checks the result. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: Record<string, number> = { ...DEFAULT_RETRY_POLICY };
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) policy[name] = value;
  }
  const valid = (name: keyof RetryPolicy, min: number) =>
    Number.isFinite(policy[name]) && (policy[name] as number) >= min;
  if (!Number.isInteger(policy.maxAttempts) || !valid("maxAttempts", 1)) {
    throw new RangeError("retry.maxAttempts must be an integer of at least 1");
  }
  for (const name of ["initialDelayMs", "maxDelayMs", "maxElapsedMs"] as const) {
    if (!valid(name, 0)) throw new RangeError(`retry.${name} must be a finite number >= 0`);
  }
  if (!valid("multiplier", 1)) throw new RangeError("retry.multiplier must be a number >= 1");
  return Object.freeze(policy as unknown as RetryPolicy);
}

/**
 * Defaults: 10 attempts within 60 s of the first failure, backoff bounds 200 ms, 400 ms, …
 * capped at 10 s: about 20 s of expected waiting, enough to ride out a server restart.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
  maxElapsedMs: 60_000,
});

/** What a retried operation learns about its attempt. */
export interface Attempt {
  /** 1 for the first attempt. */
  readonly number: number;
}

/**
 * Runs `operation` until it succeeds, fails in a way retrying cannot fix, or a bound of `policy`
 * is reached. Between attempts it sleeps for an exponential backoff with full jitter (a random
 * delay up to the bound), or, when the server named a delay, that delay plus up to 20% more: either
 * way a fleet of gateways that failed together does not come back together. `signal` aborts the
 * sleep and the call.
 */
export async function withRetries<T>(
  operation: (attempt: Attempt) => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (error: IngestError, delayMs: number) => void,
): Promise<T> {
  let firstFailure: number | undefined;
  for (let number = 1; ; number++) {
    try {
      signal?.throwIfAborted();
      return await operation({ number });
    } catch (err) {
      const error = toIngestError(
        signal?.aborted ? abortError(signal) : connectionLoss(err),
        number,
      );
      if (!error.retryable || number >= policy.maxAttempts) throw error;
      firstFailure ??= Date.now();
      const bound = Math.min(
        policy.maxDelayMs,
        policy.initialDelayMs * policy.multiplier ** (number - 1),
      );
      const delay =
        error.retryDelayMs !== undefined && error.retryDelayMs > 0
          ? error.retryDelayMs * (1 + 0.2 * Math.random())
          : Math.random() * bound;
      if (Date.now() + delay - firstFailure > policy.maxElapsedMs) throw error;
      onRetry?.(error, delay);
      await sleep(delay, signal).catch((e) => {
        throw toIngestError(e, number);
      });
    }
  }
}

/**
 * A CANCELED the caller did not ask for is a lost connection: connect-node reports a connection
 * closed cleanly mid-call (a replica stopped, a proxy recycled it) as CANCELED. Retryable, as
 * UNAVAILABLE.
 */
function connectionLoss(err: unknown): unknown {
  const error = ConnectError.from(err);
  if (error.code !== Code.Canceled) return err;
  return new ConnectError(
    `connection lost: ${error.rawMessage}`,
    Code.Unavailable,
    undefined,
    undefined,
    err,
  );
}

/** The caller's abort (or its AbortSignal.timeout) as a final CANCELED error. */
function abortError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason;
  const timedOut = reason instanceof Error && reason.name === "TimeoutError";
  // A caller's own deadline is final: it is not one of the server's DEADLINE_EXCEEDEDs to retry.
  return new ConnectError(
    timedOut ? "the caller's deadline passed" : "cancelled by the caller",
    Code.Canceled,
    undefined,
    undefined,
    reason,
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
