/**
 * Domain errors. Each names what went wrong in terms the client can act on; `src/grpc/status.ts`
 * maps them to gRPC statuses in one place. The underlying error, if any, travels as `cause` for
 * the log and is never shown to the client.
 */

import type { RuleViolation } from "./contract/violations.js";

/** One field that failed validation: a path such as `sale.line_items[2].quantity_milli`. */
export type FieldViolation = RuleViolation;

/** The request is malformed or a field is out of range: INVALID_ARGUMENT. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(readonly violations: readonly FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

/** The request bytes do not decode as the expected message: INVALID_ARGUMENT. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
  constructor(options?: ErrorOptions) {
    super("request message could not be decoded", options);
  }
}

/** No credentials, or credentials that match no active key: UNAUTHENTICATED. */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
}

/**
 * Too many keys from this address matched nothing: RESOURCE_EXHAUSTED with the delay until the
 * address may try an unknown key again. Refused before any lookup, so a flood costs no queries.
 */
export class AuthThrottledError extends Error {
  override readonly name = "AuthThrottledError";
  constructor(readonly retryAfterMs: number) {
    super(
      `too many failed authentications from this address; retry in ${retryAfterMs} ms (keys already verified keep working)`,
    );
  }
}

/** The idempotency key is already stored with a different payload: FAILED_PRECONDITION. */
export class IdempotencyConflictError extends Error {
  override readonly name = "IdempotencyConflictError";
  constructor(readonly idempotencyKey: string) {
    super("idempotency key was already used for a different sale; nothing was overwritten");
  }
}

/**
 * A post-void conflicts with what is stored about its original (already voided, itself a void,
 * another kind, or not cancelled exactly): FAILED_PRECONDITION naming `sale.original`. Nothing
 * was stored; the same void will be refused again until what is stored changes.
 */
export class OriginalConflictError extends Error {
  override readonly name = "OriginalConflictError";
  /** The field the client got wrong, or that disagrees with what is stored. */
  readonly field = "sale.original";
  constructor(reason: string) {
    super(`sale.original: ${reason}`);
  }
}

/** A dependency (the database) failed or is unreachable: UNAVAILABLE, retry with the same key. */
export class DependencyUnavailableError extends Error {
  override readonly name: string = "DependencyUnavailableError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What a stream had done when it was ended early (reported to the client in ErrorInfo). */
export interface StreamProgress {
  readonly received: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
}

/** The tenant is over its record budget: RESOURCE_EXHAUSTED with the delay until it refills. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  constructor(
    readonly retryAfterMs: number,
    readonly progress?: StreamProgress,
  ) {
    super(`rate limit exceeded for this tenant; retry in ${retryAfterMs} ms`);
  }
}

/**
 * A stream broke one of the server's bounds (too many records, open too long, idle too long, too
 * many concurrent streams). Committed batches stay stored; nothing is acknowledged.
 */
export class StreamLimitError extends Error {
  override readonly name = "StreamLimitError";
  constructor(
    readonly kind: "too_many_records" | "too_long" | "idle" | "too_many_streams",
    message: string,
    readonly progress?: StreamProgress,
  ) {
    super(message);
  }
}

/**
 * The client cancelled the call or let its deadline pass: no status reaches it any more. Only for
 * the server's own bookkeeping (the log line, what is still written): nothing more is.
 */
export class CancelledByClientError extends Error {
  override readonly name = "CancelledByClientError";
  constructor() {
    super("the client cancelled the call or its deadline passed");
  }
}

/** The server has not finished starting (database not reached yet): UNAVAILABLE, retry. */
export class NotReadyError extends Error {
  override readonly name = "NotReadyError";
  constructor() {
    super("server is starting; retry shortly");
  }
}

/** The server is shutting down and takes no new work: UNAVAILABLE, retry elsewhere. */
export class ShuttingDownError extends Error {
  override readonly name = "ShuttingDownError";
  constructor() {
    super("server is shutting down; retry on another replica");
  }
}

/**
 * An IngestBatchStream message whose list of records cannot be read (not merely a record that
 * does not decode, which is rejected at its offset): INVALID_ARGUMENT naming `records`, with what
 * was committed before it (ErrorInfo). The stream ends there: no later offset could be trusted.
 */
export class MalformedBatchError extends Error {
  override readonly name = "MalformedBatchError";
  constructor(
    message: string,
    readonly progress?: StreamProgress,
  ) {
    super(message);
  }
}
