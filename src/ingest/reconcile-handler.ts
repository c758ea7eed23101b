import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import type {
  DigestKeysRequest,
  DigestKeysResponse,
  ListKeysRequest,
  ListKeysResponse,
  ReconcileRequest,
  ReconcileResponse,
  ReconcileService as ReconcileServiceDesc,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import { figureLabel } from "../contract/z-report.js";
import type { DecodeFailure, Received } from "../grpc/service-adapter.js";
import type { GrpcServiceImpl } from "../grpc/typed-service.js";
import type { Logger } from "../observability/logger.js";
import { parseDigestKeysRequest, parseListKeysRequest } from "./reconcile-keys-request.js";
import {
  toDigestKeysResponse,
  toListKeysResponse,
  toReconcileResponse,
} from "./reconcile-mapping.js";
import type { ReconcileResult, ReconcileScope } from "./reconcile-model.js";
import { parseReconcileRequest } from "./reconcile-request.js";
import type { ReconcileService } from "./reconcile-service.js";
import { answerUnary } from "./unary-call.js";

type Call<Req, Res> = ServerUnaryCall<Received<Req> | DecodeFailure, Res>;

/**
 * The gRPC face of reconciliation (Reconcile, and DigestKeys and ListKeys for finding the keys
 * that differ): authenticates, validates (INVALID_ARGUMENT naming the field), runs the service,
 * maps the answer, and logs one line per call plus one per mismatch. The
 * mismatch line says which figures differ and where (tenant, location, register, period), never
 * an amount's owner: the figures are store totals, and no sale or customer data is in them.
 */
export function createReconcileHandlers(options: {
  service: ReconcileService;
  authenticator: Authenticator;
  isReady: () => boolean;
  logger: Logger;
}): GrpcServiceImpl<typeof ReconcileServiceDesc> {
  const { service, logger } = options;
  const reconcile = (
    call: Call<ReconcileRequest, ReconcileResponse>,
    callback: sendUnaryData<ReconcileResponse>,
  ): Promise<void> =>
    answerUnary(options, "Reconcile", call, callback, async (tenant, request) => {
      const { scope, figures, keys } = parseReconcileRequest(request.message);
      const result = await service.reconcile(tenant, scope, figures, keys);
      if (!result.match) logMismatch(logger, tenant, scope, result);
      return { response: toReconcileResponse(result), logFields: { match: result.match } };
    });
  const digestKeys = (
    call: Call<DigestKeysRequest, DigestKeysResponse>,
    callback: sendUnaryData<DigestKeysResponse>,
  ): Promise<void> =>
    answerUnary(options, "DigestKeys", call, callback, async (tenant, request) => {
      const { scope, asOfMicros, ranges } = parseDigestKeysRequest(request.message);
      const digests = await service.digestKeys(tenant, scope, asOfMicros, ranges);
      return { response: toDigestKeysResponse(digests), logFields: { ranges: ranges.length } };
    });
  const listKeys = (
    call: Call<ListKeysRequest, ListKeysResponse>,
    callback: sendUnaryData<ListKeysResponse>,
  ): Promise<void> =>
    answerUnary(options, "ListKeys", call, callback, async (tenant, request) => {
      const p = parseListKeysRequest(request.message);
      const page = await service.listKeys(
        tenant,
        p.scope,
        p.asOfMicros,
        p.range,
        p.after,
        p.pageSize,
      );
      return { response: toListKeysResponse(page), logFields: { keys: page.keys.length } };
    });
  return { reconcile, digestKeys, listKeys };
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
      // "tenders.amount_minor[USD CARD]": the tender type named, as the figure's currency is.
      differ: result.differences.map(figureLabel),
    },
    "reconciliation mismatch",
  );
}

function microsToIso(micros: bigint): string {
  return new Date(Number(micros / 1000n)).toISOString();
}
