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
  /** No attempt starts after this long since the first (a server delay that would cross it ends the retries). */
  readonly maxElapsedMs: number;
}

/** Defaults: 6 attempts within 60 s, backoff bounds 200 ms, 400 ms, … capped at 10 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 6,
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
 * is reached. Between attempts it sleeps for the longer of the server's retry delay and an
 * exponential backoff with full jitter (a random delay up to the bound, so a fleet of gateways
 * that failed together does not come back together). `signal` aborts the sleep and the call.
 */
export async function withRetries<T>(
  operation: (attempt: Attempt) => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (error: IngestError, delayMs: number) => void,
): Promise<T> {
  const started = Date.now();
  for (let number = 1; ; number++) {
    try {
      signal?.throwIfAborted();
      return await operation({ number });
    } catch (err) {
      const error = toIngestError(signal?.aborted ? abortError(signal) : err, number);
      if (!error.retryable || number >= policy.maxAttempts) throw error;
      const bound = Math.min(
        policy.maxDelayMs,
        policy.initialDelayMs * policy.multiplier ** (number - 1),
      );
      const delay = Math.max(error.retryDelayMs ?? 0, Math.random() * bound);
      if (Date.now() + delay - started > policy.maxElapsedMs) throw error;
      onRetry?.(error, delay);
      await sleep(delay, signal).catch((e) => {
        throw toIngestError(e, number);
      });
    }
  }
}

/** The caller's abort as a CANCELED (or, for AbortSignal.timeout, DEADLINE_EXCEEDED) error. */
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
