import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type {
  ReconcileRequest,
  ReconcileResponse,
  ReconcileService as ReconcileServiceDesc,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import { CancelledByClientError, MalformedMessageError, NotReadyError } from "../errors.js";
import { DecodeFailure, type Received } from "../grpc/service-adapter.js";
import { endedByClient, toGrpcError } from "../grpc/status.js";
import type { GrpcServiceImpl } from "../grpc/typed-service.js";
import type { Logger } from "../observability/logger.js";
import { logCallEnd } from "./call-log.js";
import { readAuthorization, readForwardedFor } from "./metadata.js";
import { toReconcileResponse } from "./reconcile-mapping.js";
import type { ReconcileResult, ReconcileScope } from "./reconcile-model.js";
import { parseReconcileRequest } from "./reconcile-request.js";
import type { ReconcileService } from "./reconcile-service.js";

type Request = Received<ReconcileRequest> | DecodeFailure;

/**
 * The gRPC face of reconciliation: authenticates, validates (INVALID_ARGUMENT naming the field),
 * runs the service, maps the answer, and logs one line per call plus one per mismatch. The
 * mismatch line says which figures differ and where (tenant, location, register, period), never
 * an amount's owner: the figures are store totals, and no sale or customer data is in them.
 */
export function createReconcileHandlers(options: {
  service: ReconcileService;
  authenticator: Authenticator;
  isReady: () => boolean;
  logger: Logger;
}): GrpcServiceImpl<typeof ReconcileServiceDesc> {
  const { service, authenticator, logger } = options;
  const reconcile = async (
    call: ServerUnaryCall<Request, ReconcileResponse>,
    callback: sendUnaryData<ReconcileResponse>,
  ): Promise<void> => {
    const started = performance.now();
    let tenant: string | undefined;
    try {
      if (!options.isReady()) throw new NotReadyError();
      const principal = await authenticator.authenticate(readAuthorization(call.metadata), {
        peer: call.getPeer(),
        forwardedFor: readForwardedFor(call.metadata),
      });
      tenant = principal.tenantId;
      const request = call.request;
      if (request instanceof DecodeFailure) {
        throw new MalformedMessageError({ cause: request.cause });
      }
      const { scope, figures } = parseReconcileRequest(request.message);
      const result = await service.reconcile(tenant, scope, figures);
      callback(null, toReconcileResponse(result));
      if (!result.match) logMismatch(logger, tenant, scope, result);
      const ended = endedByClient(call);
      logCallEnd(
        logger,
        ended ?? status.OK,
        { method: "Reconcile", tenant, match: result.match, ms: elapsed(started) },
        ended === undefined ? undefined : new CancelledByClientError(),
      );
    } catch (err) {
      const error = toGrpcError(err);
      callback(error);
      logCallEnd(
        logger,
        endedByClient(call) ?? error.code,
        { method: "Reconcile", tenant, ms: elapsed(started) },
        err,
      );
    }
  };
  return { reconcile };
}

/** One warn line per mismatch: where, and which figures differ (names only, no amounts). */
function logMismatch(
  logger: Logger,
  tenant: string,
  scope: ReconcileScope,
  result: ReconcileResult,
): void {
  const period =
    "businessDay" in scope.period
      ? { businessDay: scope.period.businessDay }
      : {
          occurredFrom: microsToIso(scope.period.startMicros),
          occurredTo: microsToIso(scope.period.endMicros),
        };
  logger.warn(
    {
      tenant,
      location: scope.locationId,
      ...(scope.registerId !== undefined && { register: scope.registerId }),
      ...period,
      differ: result.differences.map((d) => (d.currency ? `${d.figure}[${d.currency}]` : d.figure)),
    },
    "reconciliation mismatch",
  );
}

function microsToIso(micros: bigint): string {
  return new Date(Number(micros / 1000n)).toISOString();
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
