import type { ServerReadableStream, sendUnaryData } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type { IngestStreamResponse } from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import {
  CancelledByClientError,
  MalformedBatchError,
  NotReadyError,
  ShuttingDownError,
  StreamLimitError,
  type StreamProgress,
} from "../errors.js";
import { endedByClient, toGrpcError } from "../grpc/status.js";
import type { Logger } from "../observability/logger.js";
import { logCallEnd } from "./call-log.js";
import { toIngestStreamResponse } from "./mapping.js";
import { readAuthorization, readForwardedFor, readIdempotencyKey } from "./metadata.js";
import type { StreamSession } from "./model.js";
import type { IngestService } from "./service.js";
import { elapsed } from "./unary-call.js";

/** Bounds on streams: concurrent per tenant, total duration, silence between messages. */
export interface StreamBounds {
  readonly maxPerTenant: number;
  readonly maxDurationMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * Hands one received message's records to the session. Returns a promise when the caller must
 * wait before reading more (backpressure), undefined when it may read on at once.
 */
export type StreamFeed<M> = (message: M, session: StreamSession) => Promise<void> | undefined;

/**
 * The streaming calls of the ingest service, whatever their message type: the open streams (for
 * shutdown's abort), the per-tenant count, and one runner that both RPCs share, so a stream of
 * one sale per message and a stream of batches have the same bounds, answers and log lines.
 */
export function createStreamCalls(options: {
  service: IngestService;
  authenticator: Authenticator;
  isReady: () => boolean;
  logger: Logger;
  streams: StreamBounds;
  onStreamFinished?: (code: status, seconds: number) => void;
}) {
  const { service, authenticator, logger, streams } = options;
  const openStreams = new Set<ServerReadableStream<unknown, IngestStreamResponse>>();
  const streamsPerTenant = new Map<string, number>();

  async function answerStream<M>(
    method: string,
    call: ServerReadableStream<M, IngestStreamResponse>,
    callback: sendUnaryData<IngestStreamResponse>,
    feed: StreamFeed<M>,
  ): Promise<void> {
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
      if (!options.isReady()) throw new NotReadyError();
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
      // after every message; while the server itself waits (a batch on the database, the
      // tenant's budget) it is stopped, since reading is paused and the client's messages queue
      // up unread: a slow database must not end a busy client's stream as idle.
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
      for await (const message of call as AsyncIterable<M>) {
        const wait = feed(message, stream);
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
        { method, tenant, ...counts(summary), ms: elapsed(started) },
        ended === undefined ? undefined : new CancelledByClientError(),
      );
    } catch (err) {
      // A bound the client broke, or a message it garbled, answers with what is committed
      // (ErrorInfo), and a timer can end the stream while batches are still on their way to the
      // database: let them settle and report the counts as they then stand. Other failures
      // answer at once (a shutdown's abort must not wait on a slow database); their log line
      // waits instead.
      let reported = err;
      if (err instanceof StreamLimitError && err.progress && session) {
        reported = new StreamLimitError(err.kind, err.message, await session.settled());
      } else if (err instanceof MalformedBatchError && session) {
        reported = new MalformedBatchError(err.message, await session.settled());
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
        { method, tenant, ...(committed && counts(committed)), ms: elapsed(started) },
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
  }

  return {
    answerStream,
    /** Ends every open stream with UNAVAILABLE; nothing uncommitted is acknowledged. */
    abortStreams(): void {
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
