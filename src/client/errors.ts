import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";

export { Code } from "@connectrpc/connect";

/** A field the server refused, from google.rpc.BadRequest (e.g. "sale.totals.total_minor"). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/**
 * Why an ingest call failed, as the server (or the transport) said it: the gRPC code, the
 * server's message, the fields it refused, the delay it asked for, and how often it was tried.
 */
export class IngestError extends Error {
  override readonly name = "IngestError";
  /** The gRPC status code (connect's `Code` has the gRPC numbering). */
  readonly code: Code;
  /** The status message without the code prefix. */
  readonly rawMessage: string;
  /** The offending fields of an INVALID_ARGUMENT. */
  readonly fieldViolations: readonly FieldViolation[];
  /** The delay the server asked for (google.rpc.RetryInfo or grpc-retry-pushback-ms). */
  readonly retryDelayMs: number | undefined;
  /** google.rpc.ErrorInfo's reason, e.g. "RATE_LIMITED" or "STREAM_TOO_LONG". */
  readonly reason: string | undefined;
  /** google.rpc.ErrorInfo's metadata (a failed stream reports its progress here). */
  readonly reasonMetadata: Readonly<Record<string, string>>;
  /** Attempts made, including the last. */
  readonly attempts: number;

  constructor(cause: ConnectError, attempts: number) {
    super(`${Code[cause.code] ?? cause.code}: ${cause.rawMessage}`, { cause });
    this.code = cause.code;
    this.rawMessage = cause.rawMessage;
    this.fieldViolations = cause
      .findDetails(BadRequestSchema)
      .flatMap((d) =>
        d.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
      );
    this.retryDelayMs = retryDelayOf(cause);
    const info = cause.findDetails(ErrorInfoSchema)[0];
    this.reason = info?.reason;
    this.reasonMetadata = { ...info?.metadata };
    this.attempts = attempts;
  }

  /** Whether trying again later, with the same keys, may succeed. */
  get retryable(): boolean {
    return isRetryable(this.code, this.retryDelayMs);
  }
}

/** Wraps anything a call threw (ConnectError, AbortError, a socket error) as an IngestError. */
export function toIngestError(err: unknown, attempts: number): IngestError {
  if (err instanceof IngestError) return err;
  return new IngestError(ConnectError.from(err), attempts);
}

/**
 * Codes worth retrying with the same idempotency keys. RESOURCE_EXHAUSTED only with a retry
 * delay: that is the server saying "later"; without one (a message or stream over a size limit)
 * the same request would fail the same way. Never INVALID_ARGUMENT, UNAUTHENTICATED,
 * FAILED_PRECONDITION (a key reused for another sale) or CANCELED (the caller gave up).
 */
export function isRetryable(code: Code, retryDelayMs: number | undefined): boolean {
  switch (code) {
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Aborted:
      return true;
    case Code.ResourceExhausted:
      return retryDelayMs !== undefined;
    default:
      return false;
  }
}

/** The server's retry delay: RetryInfo if present, else the grpc-retry-pushback-ms trailer. */
export function retryDelayOf(err: ConnectError): number | undefined {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay) return Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6);
  const pushback = err.metadata.get("grpc-retry-pushback-ms");
  // gRPC's convention: a negative or malformed pushback means "do not retry".
  if (pushback !== null && /^\d+$/.test(pushback)) return Number(pushback);
  return undefined;
}
