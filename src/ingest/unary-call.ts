import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type { Authenticator } from "../auth/authenticator.js";
import { CancelledByClientError, MalformedMessageError, NotReadyError } from "../errors.js";
import { DecodeFailure, type Received } from "../grpc/service-adapter.js";
import { endedByClient, toGrpcError } from "../grpc/status.js";
import type { Logger } from "../observability/logger.js";
import { logCallEnd } from "./call-log.js";
import { readAuthorization, readForwardedFor } from "./metadata.js";

/** What a unary method's own part answers: the response, and what its log line adds. */
export interface UnaryAnswer<Res> {
  readonly response: Res;
  /** Fields of the call's log line beside method, tenant and duration (an outcome, say). */
  readonly logFields?: Readonly<Record<string, unknown>>;
}

/** What every authenticated unary method shares. */
export interface UnaryContext {
  readonly authenticator: Authenticator;
  readonly isReady: () => boolean;
  readonly logger: Logger;
}

/**
 * Runs one authenticated unary call the way every method of the service does: UNAVAILABLE before
 * start-up has finished, the API key, the decoded request (INVALID_ARGUMENT for bytes that are no
 * such message), the method's own part, then the answer and exactly one log line, whose status is
 * CANCELLED when the client had gone before the answer (the work is done either way).
 */
export async function answerUnary<Req, Res>(
  context: UnaryContext,
  method: string,
  call: ServerUnaryCall<Received<Req> | DecodeFailure, Res>,
  callback: sendUnaryData<Res>,
  handle: (tenant: string, request: Received<Req>) => Promise<UnaryAnswer<Res>>,
): Promise<void> {
  const { authenticator, logger } = context;
  const started = performance.now();
  let tenant: string | undefined;
  try {
    if (!context.isReady()) throw new NotReadyError();
    const principal = await authenticator.authenticate(readAuthorization(call.metadata), {
      peer: call.getPeer(),
      forwardedFor: readForwardedFor(call.metadata),
    });
    tenant = principal.tenantId;
    const request = call.request;
    if (request instanceof DecodeFailure) {
      throw new MalformedMessageError({ cause: request.cause });
    }
    const answer = await handle(principal.tenantId, request);
    callback(null, answer.response);
    const ended = endedByClient(call);
    logCallEnd(
      logger,
      ended ?? status.OK,
      { method, tenant, ...answer.logFields, ms: elapsed(started) },
      ended === undefined ? undefined : new CancelledByClientError(),
    );
  } catch (err) {
    const error = toGrpcError(err);
    callback(error);
    logCallEnd(
      logger,
      endedByClient(call) ?? error.code,
      { method, tenant, ms: elapsed(started) },
      err,
    );
  }
}

/** Milliseconds since `started`, to a tenth. */
export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
