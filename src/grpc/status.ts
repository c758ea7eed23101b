import type { DescFile } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";
import { type Any, anyPack, DurationSchema } from "@bufbuild/protobuf/wkt";
import { type Deadline, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  file_google_rpc_error_details,
  PreconditionFailureSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status, StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  AuthenticationError,
  AuthThrottledError,
  CancelledByClientError,
  DependencyUnavailableError,
  IdempotencyConflictError,
  MalformedBatchError,
  MalformedMessageError,
  NotReadyError,
  OriginalConflictError,
  RateLimitedError,
  ShuttingDownError,
  StreamLimitError,
  type StreamProgress,
  ValidationError,
} from "../errors.js";

/** How long a client should wait before retrying while the app is still starting. */
const NOT_READY_RETRY_AFTER_MS = 1_000;

/**
 * The files defining what `grpc-status-details-bin` carries (google.rpc.Status and its details),
 * served by reflection so clients can decode the details without the proto files.
 */
export const ERROR_DETAIL_FILES: readonly DescFile[] = [
  file_google_rpc_status,
  file_google_rpc_error_details,
];

/** Every gRPC status code, OK (0) to UNAUTHENTICATED (16). */
export const ALL_STATUS_CODES: readonly status[] = Object.values(status).filter(
  (v): v is status => typeof v === "number",
);

/**
 * A code's canonical name ("OK", "UNAVAILABLE"): the one spelling every metric label uses, as
 * go-grpc-prometheus's `grpc_code` does, so series of different metrics join on it.
 */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}

/** A gRPC error status ready to hand to a grpc-js callback or `call.emit("error")`. */
export type GrpcError = Partial<ServiceError> & {
  code: status;
  details: string;
  metadata: Metadata;
};

/**
 * The one place domain errors become gRPC statuses. Codes follow gRPC's own guidance; rich
 * details (google.rpc.BadRequest, RetryInfo) go in `grpc-status-details-bin` as Google APIs do,
 * and a retry delay also goes in `grpc-retry-pushback-ms`, which gRPC clients honour natively.
 * Anything unrecognised is our bug: INTERNAL, with a message that leaks nothing.
 */
export function toGrpcError(err: unknown): GrpcError {
  if (err instanceof ValidationError) {
    const badRequest = create(BadRequestSchema, {
      fieldViolations: err.violations.map((v) => ({ field: v.field, description: v.description })),
    });
    return withDetails(status.INVALID_ARGUMENT, err.message, [
      anyPack(BadRequestSchema, badRequest),
    ]);
  }
  if (err instanceof MalformedMessageError) return plain(status.INVALID_ARGUMENT, err.message);
  if (err instanceof MalformedBatchError) {
    const badRequest = create(BadRequestSchema, {
      fieldViolations: [{ field: "records", description: err.message }],
    });
    return withDetails(status.INVALID_ARGUMENT, err.message, [
      anyPack(BadRequestSchema, badRequest),
      errorInfo("MALFORMED_BATCH", err.progress),
    ]);
  }
  if (err instanceof AuthenticationError) return plain(status.UNAUTHENTICATED, err.message);
  if (err instanceof AuthThrottledError) {
    return withRetry(status.RESOURCE_EXHAUSTED, err.message, err.retryAfterMs, [
      errorInfo("AUTH_THROTTLED", undefined),
    ]);
  }
  if (err instanceof IdempotencyConflictError) {
    return plain(status.FAILED_PRECONDITION, err.message);
  }
  if (err instanceof OriginalConflictError) {
    const failure = create(PreconditionFailureSchema, {
      violations: [{ type: "ORIGINAL_CONFLICT", subject: err.field, description: err.message }],
    });
    return withDetails(status.FAILED_PRECONDITION, err.message, [
      anyPack(PreconditionFailureSchema, failure),
    ]);
  }
  if (err instanceof DependencyUnavailableError) return unavailable(err.message, err.retryAfterMs);
  if (err instanceof RateLimitedError) {
    return withRetry(status.RESOURCE_EXHAUSTED, err.message, err.retryAfterMs, [
      errorInfo("RATE_LIMITED", err.progress),
    ]);
  }
  if (err instanceof StreamLimitError) {
    const info = errorInfo(`STREAM_${err.kind.toUpperCase()}`, err.progress);
    if (err.kind === "too_many_streams") {
      return withRetry(status.RESOURCE_EXHAUSTED, err.message, 1_000, [info]);
    }
    const code =
      err.kind === "too_many_records" ? status.RESOURCE_EXHAUSTED : status.DEADLINE_EXCEEDED;
    return withDetails(code, err.message, [info]);
  }
  if (err instanceof CancelledByClientError) return plain(status.CANCELLED, err.message);
  if (err instanceof ShuttingDownError) return unavailable(err.message, 0);
  if (err instanceof NotReadyError) return unavailable(err.message, NOT_READY_RETRY_AFTER_MS);
  return plain(status.INTERNAL, "internal error");
}

function unavailable(message: string, retryAfterMs: number): GrpcError {
  return withRetry(status.UNAVAILABLE, message, retryAfterMs, []);
}

/** A status with a retry delay, as google.rpc.RetryInfo and as grpc-retry-pushback-ms. */
function withRetry(code: status, message: string, retryAfterMs: number, extra: Any[]): GrpcError {
  const ms = Math.max(0, Math.round(retryAfterMs));
  const retryInfo = create(RetryInfoSchema, {
    retryDelay: create(DurationSchema, {
      seconds: BigInt(Math.floor(ms / 1000)),
      nanos: (ms % 1000) * 1_000_000,
    }),
  });
  const error = withDetails(code, message, [anyPack(RetryInfoSchema, retryInfo), ...extra]);
  error.metadata.set("grpc-retry-pushback-ms", String(ms));
  return error;
}

/** google.rpc.ErrorInfo with a machine-readable reason and, for streams, what was done so far. */
function errorInfo(reason: string, progress: StreamProgress | undefined): Any {
  const metadata: Record<string, string> = {};
  if (progress) {
    for (const [k, v] of Object.entries(progress)) metadata[k] = String(v);
  }
  return anyPack(
    ErrorInfoSchema,
    create(ErrorInfoSchema, { reason, domain: "pos-ingest", metadata }),
  );
}

function plain(code: status, details: string): GrpcError {
  return { code, details, metadata: new Metadata() };
}

function withDetails(code: status, message: string, details: Any[]): GrpcError {
  const error = plain(code, message);
  const statusProto = create(StatusSchema, { code, message, details });
  error.metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, statusProto)));
  return error;
}

/**
 * A client that gives up at its deadline resets the call at about the moment the server's own
 * deadline passes, a little before or after it (the server starts its clock when the headers
 * arrive, and timers are coarse): a call ended this close to its deadline ended because of it.
 */
const DEADLINE_MARGIN_MS = 250;

/**
 * The code of a call the client ended (cancelled, went away, or let its deadline pass): no
 * status reaches it, so this is for the log and the metrics, which must agree on it.
 */
export function clientEndCode(deadline: Deadline): status.CANCELLED | status.DEADLINE_EXCEEDED {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at - DEADLINE_MARGIN_MS <= Date.now()
    ? status.DEADLINE_EXCEEDED
    : status.CANCELLED;
}

/**
 * How the client ended a call, if it did (see `clientEndCode`); undefined while the call is still
 * the server's to answer. Whatever the handler sends after that reaches nobody.
 */
export function endedByClient(call: {
  readonly cancelled: boolean;
  getDeadline(): Deadline;
}): status.CANCELLED | status.DEADLINE_EXCEEDED | undefined {
  return call.cancelled ? clientEndCode(call.getDeadline()) : undefined;
}
