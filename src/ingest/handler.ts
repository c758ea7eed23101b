import type { ServerReadableStream, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type {
  IngestRequest,
  IngestResponse,
  IngestService as IngestServiceDesc,
  IngestStreamResponse,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import {
  CancelledByClientError,
  NotReadyError,
  ShuttingDownError,
  StreamLimitError,
  type StreamProgress,
} from "../errors.js";
import { DecodeFailure, type Received } from "../grpc/service-adapter.js";
import { endedByClient, toGrpcError } from "../grpc/status.js";
import type { GrpcServiceImpl } from "../grpc/typed-service.js";
import type { Logger } from "../observability/logger.js";
import { logCallEnd } from "./call-log.js";
import { toIngestResponse, toIngestStreamResponse } from "./mapping.js";
import {
  readAuthorization,
  readForwardedFor,
  readIdempotencyKey,
  unaryIdempotencyKey,
} from "./metadata.js";
import type { StreamSession } from "./model.js";
import { saleBytesOf } from "./request-bytes.js";
import type { IngestService } from "./service.js";
import { answerUnary, elapsed } from "./unary-call.js";

type Request = Received<IngestRequest> | DecodeFailure;

/** The ingest handlers, and the means to end open streams when shutdown runs out of time. */
export interface IngestHandlers {
  readonly implementation: GrpcServiceImpl<typeof IngestServiceDesc>;
  /** Ends every open stream with UNAVAILABLE; nothing uncommitted is acknowledged. */
  abortStreams(): void;
}

/**
 * The gRPC face of the ingest service: reads metadata, authenticates, maps proto to domain and
 * back, turns every failure into a precise status, and logs one line per call (no sale contents,
 * no keys, no customer data). Calls before `isReady()` (the app's start-up has finished) get
 * UNAVAILABLE, so the port can be bound (and probed) while the database is still coming up.
 */
export function createIngestHandlers(options: {
  service: IngestService;
  authenticator: Authenticator;
  isReady: () => boolean;
  logger: Logger;
  /** Bounds on streams: concurrent per tenant, total duration, silence between messages. */
  streams: { maxPerTenant: number; maxDurationMs: number; idleTimeoutMs: number };
  onStreamFinished?: (code: status, seconds: number) => void;
}): IngestHandlers {
  const { service, authenticator, logger, streams } = options;
  const openStreams = new Set<ServerReadableStream<Request, IngestStreamResponse>>();
  const streamsPerTenant = new Map<string, number>();
  const assertReady = (): void => {
    if (!options.isReady()) throw new NotReadyError();
  };

  const ingest = (
    call: ServerUnaryCall<Request, IngestResponse>,
    callback: sendUnaryData<IngestResponse>,
  ): Promise<void> =>
    answerUnary(options, "Ingest", call, callback, async (tenant, request) => {
      const key = unaryIdempotencyKey(
        readIdempotencyKey(call.metadata),
        request.message.idempotencyKey,
      );
      const result = await service.ingest(
        tenant,
        request.message.sale,
        key,
        saleBytesOf(request.bytes),
      );
      // The sale is stored either way; the log line says whether the client heard about it.
      return { response: toIngestResponse(result), logFields: { outcome: result.outcome } };
    });

  const ingestStream = async (
    call: ServerReadableStream<Request, IngestStreamResponse>,
    callback: sendUnaryData<IngestStreamResponse>,
  ): Promise<void> => {
    const started = performance.now();
    let tenant: string | undefined;
    let session: StreamSession | undefined;
    openStreams.add(call);
    // A client that vanishes without half-closing would leave the read loop waiting forever;
    // destroying the stream ends the loop, and the check after it writes nothing more.
    call.on("cancelled", () => call.destroy());
    let code = status.OK;
    let counted: string | undefined;
    let tooLong: NodeJS.Timeout | undefined;
    let idle: NodeJS.Timeout | undefined;
    try {
      assertReady();
      const principal = await authenticator.authenticate(readAuthorization(call.metadata), {
        peer: call.getPeer(),
        forwardedFor: readForwardedFor(call.metadata),
      });
      tenant = principal.tenantId;
      const open = streamsPerTenant.get(tenant) ?? 0;
      if (open >= streams.maxPerTenant) {
        throw new StreamLimitError(
          "too_many_streams",
          `tenant has ${open} streams open, the most allowed; retry when one finishes`,
        );
      }
      streamsPerTenant.set(tenant, open + 1);
      counted = tenant;
      const stream = service.openStream(principal.tenantId, readIdempotencyKey(call.metadata));
      session = stream;
      // Ending the request stream with an error ends the read loop below with that error.
      tooLong = setTimeout(() => {
        call.destroy(
          new StreamLimitError(
            "too_long",
            `stream open longer than ${streams.maxDurationMs} ms`,
            stream.progress(),
          ),
        );
      }, streams.maxDurationMs);
      // Idle means the client is silent while the server is ready to read. The timer restarts
      // after every record; while the server itself waits (a batch on the database, the tenant's
      // budget) it is stopped, since reading is paused and the client's messages queue up
      // unread: a slow database must not end a busy client's stream as idle.
      const onIdle = () => {
        call.destroy(
          new StreamLimitError(
            "idle",
            `no message for ${streams.idleTimeoutMs} ms`,
            stream.progress(),
          ),
        );
      };
      idle = setTimeout(onIdle, streams.idleTimeoutMs);
      for await (const message of call as AsyncIterable<Request>) {
        const wait =
          message instanceof DecodeFailure
            ? stream.addMalformed("message could not be decoded")
            : stream.add(
                message.message.sale,
                saleBytesOf(message.bytes),
                message.message.idempotencyKey,
              );
        if (wait) {
          // A cleared timer cannot be refreshed: a new one starts once the server reads again.
          clearTimeout(idle);
          await wait;
          idle = setTimeout(onIdle, streams.idleTimeoutMs);
        } else {
          idle.refresh();
        }
      }
      clearTimeout(idle);
      // A client that resets the stream ends the read loop as if it had half-closed (grpc-js
      // reports the end of the request first, the cancel shortly after): look once the pending
      // events have run, so what it will never hear acknowledged is usually not written. If the
      // cancel comes later still, the rest is committed (harmless: every row is keyed) and the
      // line below says CANCELLED with those counts.
      await new Promise((resolve) => setImmediate(resolve));
      if (endedByClient(call) !== undefined) throw new CancelledByClientError();
      const summary = await stream.finish();
      callback(null, toIngestStreamResponse(summary));
      // The client may have left while the last batches committed: they are stored, unheard.
      const ended = endedByClient(call);
      code = ended ?? status.OK;
      logCallEnd(
        logger,
        code,
        { method: "IngestStream", tenant, ...counts(summary), ms: elapsed(started) },
        ended === undefined ? undefined : new CancelledByClientError(),
      );
    } catch (err) {
      // A bound the client broke answers with what is committed (ErrorInfo), and a timer can end
      // the stream while batches are still on their way to the database: let them settle and
      // report the counts as they then stand. Other failures answer at once (a shutdown's abort
      // must not wait on a slow database); their log line waits instead.
      let reported = err;
      if (err instanceof StreamLimitError && err.progress && session) {
        reported = new StreamLimitError(err.kind, err.message, await session.settled());
      }
      const ended = endedByClient(call);
      const error = ended
        ? { ...toGrpcError(reported), code: ended, details: "ended by the client" }
        : toGrpcError(reported);
      code = error.code;
      callback(error);
      // Logged once the batches in flight have settled, so the counts are what is committed.
      const committed = await session?.settled();
      logCallEnd(
        logger,
        code,
        {
          method: "IngestStream",
          tenant,
          ...(committed && counts(committed)),
          ms: elapsed(started),
        },
        err,
      );
    } finally {
      clearTimeout(tooLong);
      clearTimeout(idle);
      if (counted !== undefined) {
        const left = (streamsPerTenant.get(counted) ?? 1) - 1;
        if (left > 0) streamsPerTenant.set(counted, left);
        else streamsPerTenant.delete(counted);
      }
      openStreams.delete(call);
      options.onStreamFinished?.(code, (performance.now() - started) / 1000);
    }
  };

  return {
    implementation: { ingest, ingestStream },
    abortStreams() {
      // Destroying the request stream ends the read loop with this error; the handler answers
      // UNAVAILABLE, and batches not yet committed are never counted as stored.
      for (const call of openStreams) call.destroy(new ShuttingDownError());
    },
  };
}

/** A stream's counts for its log line. */
function counts(c: StreamProgress) {
  return {
    received: c.received,
    accepted: c.accepted,
    duplicate: c.duplicate,
    rejected: c.rejected,
  };
}
