import { status } from "@grpc/grpc-js";
import { NotReadyError, ShuttingDownError } from "../errors.js";
import type { Logger } from "../observability/logger.js";

/**
 * Writes the one log line a call ends with, at the level that says whose problem it is:
 * - our own bug (INTERNAL, or anything grpc-js would call UNKNOWN): error, with the cause's stack;
 * - a dependency failing (UNAVAILABLE from the database or the breaker): warn, one line, the cause's
 *   message and no stack. It is expected during an outage, which is itself logged once when it
 *   starts and once when it ends (health/outage-log.ts), so a stack per call would only bury it;
 * - everything else (OK, the client's mistakes, limits, a client that cancelled or let its
 *   deadline pass, the server starting or stopping): info.
 *
 * `fields` carries the method, tenant, duration and, for a stream, the committed counts.
 */
export function logCallEnd(logger: Logger, code: status, fields: object, err?: unknown): void {
  const line = { ...fields, code: status[code] ?? String(code) };
  if (err === undefined) {
    logger.info(line, "call");
  } else if (code === status.INTERNAL || code === status.UNKNOWN) {
    logger.error({ ...line, err }, "call failed");
  } else if (
    code === status.UNAVAILABLE &&
    !(err instanceof NotReadyError) &&
    !(err instanceof ShuttingDownError)
  ) {
    logger.warn({ ...line, reason: messageOf(err), cause: causeOf(err) }, "call");
  } else {
    logger.info({ ...line, reason: messageOf(err) }, "call");
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The innermost cause's message: what the driver said (connection refused, timed out). */
function causeOf(err: unknown): string | undefined {
  let inner = err instanceof Error ? err.cause : undefined;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  return inner === undefined ? undefined : messageOf(inner);
}
