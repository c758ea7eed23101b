import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { IngestService, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { ReconcileService } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { IngestError } from "./errors.js";
import { type IngestManyOptions, type IngestManyResult, ingestMany } from "./ingest-many.js";
import { invalidArgument, type PreCheckOptions, preCheck } from "./pre-check.js";
import type { ReconcileAnswer, ReconcileInput, ReconcileOptions } from "./reconcile.js";
import { reconcileDay } from "./reconcile-protocol.js";
import { type RetryPolicy, retryPolicy, withRetries } from "./retry.js";
import type { SaleInput } from "./sale-input.js";
import { isValidKey, saleKey } from "./sale-key.js";
import { streamOpener } from "./stream-opener.js";

export type { SaleInput };

/** TLS settings for an `https://` base URL; without them, Node's public roots are trusted. */
export interface ClientTlsOptions {
  /** PEM CA certificate(s) to trust instead of the public roots (a private CA). */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, when the server requires mutual TLS. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** The name to verify in the server's certificate, when it differs from the URL's host. */
  readonly serverName?: string;
}

/**
 * How to reach the server and how hard to try: `apiKey` and either `baseUrl` (the client opens
 * its own HTTP/2 connection) or a connect `transport` of your own (an in-memory one in tests,
 * `createRouterTransport`; one with your own interceptors and TLS), which `close()` leaves open.
 */
export interface IngestClientOptions {
  /** The server, e.g. `http://localhost:50051` or `https://ingest.example.com`. */
  readonly baseUrl?: string | undefined;
  /** Calls go through this transport instead (`baseUrl` and `tls` are then not used). */
  readonly transport?: Transport | undefined;
  /** The tenant's API key (`pik_…`), sent as `authorization: Bearer …` on every call. */
  readonly apiKey: string;
  readonly tls?: ClientTlsOptions;
  /** Retry bounds; merged over DEFAULT_RETRY_POLICY. `{ maxAttempts: 1 }` turns retries off. */
  readonly retry?: Partial<RetryPolicy>;
  /** Deadline of one unary attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Deadline of one stream attempt in `ingestMany` (default 5 min). */
  readonly streamTimeoutMs?: number;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (error: IngestError, delayMs: number) => void;
  /** Extra connect interceptors (tracing, tests); with `transport`, give them to the transport. */
  readonly interceptors?: Interceptor[];
  /**
   * Check every sale with the server's rules before sending it (default true); a refused sale
   * fails with the INVALID_ARGUMENT the server would answer, after 0 attempts.
   */
  readonly validate?: PreCheckOptions["validate"];
  /** The server's MAX_LINE_ITEMS, for that check (default 5,000). */
  readonly maxLineItems?: PreCheckOptions["maxLineItems"];
}

/** Per-call options of `ingest`. */
export interface IngestOptions {
  /** The key to store the sale under; default `saleKey(sale)`, from the POS's own ids. */
  readonly idempotencyKey?: string;
  /** Cancels the call and any retry; an abort ends the call with CANCELED. */
  readonly signal?: AbortSignal;
  /** Deadline of each attempt (overrides the client's `timeoutMs`). */
  readonly timeoutMs?: number;
}

/** What became of one sale. */
export interface IngestResult {
  readonly recordId: string;
  /**
   * `duplicate` when the key was already stored, including by an earlier attempt of this very
   * call whose answer was lost: either way the sale is stored exactly once.
   */
  readonly outcome: "accepted" | "duplicate";
  /** When the record was first accepted (the same on every replay). */
  readonly acceptedAt: Date;
  readonly idempotencyKey: string;
  /** Attempts it took (1 = no retry). */
  readonly attempts: number;
}

/** grpc.health.v1 statuses, as names. */
export type HealthStatus = "SERVING" | "NOT_SERVING" | "UNKNOWN" | "SERVICE_UNKNOWN";

/** A pos-ingest client: typed calls with idempotency keys and retries done right by default. */
export interface IngestClient {
  /** Stores one sale exactly once, retrying transient failures with the same key. */
  ingest(sale: SaleInput, options?: IngestOptions): Promise<IngestResult>;
  /**
   * Stores many sales in streams of `streamSize`, each record under its own key, resending a
   * broken stream; returns the summed counts and every rejection with its sale. Throws an
   * IngestManyError (with what was done so far) when a stream fails for good. Streams are
   * IngestBatchStream calls of up to `recordsPerMessage` records per message (IngestStream with
   * `recordsPerMessage: 1`, or once the server answered that it lacks IngestBatchStream).
   */
  ingestMany(
    sales: AsyncIterable<SaleInput> | Iterable<SaleInput>,
    options?: IngestManyOptions,
  ): Promise<IngestManyResult>;
  /**
   * Compares the gateway's Z-report figures for a day (or a range) with what the server holds for
   * the same scope and, given the keys it sent, finds exactly which transactions are missing or
   * extra (bisecting key-range digests: bounded messages whatever the day's size). Retries
   * transient failures (reads: safe to repeat). A mismatch is an answer, not an error.
   */
  reconcile(input: ReconcileInput, options?: ReconcileOptions): Promise<ReconcileAnswer>;
  /** grpc.health.v1 Check of `service` ("" = the whole server, or e.g. "readiness"). */
  health(
    service?: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<HealthStatus>;
  /** Closes the connection; calls in flight fail. */
  close(): void;
}

/** Creates a client over one HTTP/2 connection (gRPC protocol, connect-node). */
export function createIngestClient(options: IngestClientOptions): IngestClient {
  const policy: RetryPolicy = retryPolicy(options.retry);
  const authorization = `Bearer ${options.apiKey}`;
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", authorization);
    return next(req);
  };
  let sessionManager: Http2SessionManager | undefined;
  let transport: Transport;
  if (options.transport) {
    transport = withHeader(options.transport, "authorization", authorization);
  } else if (options.baseUrl === undefined) {
    throw new TypeError("createIngestClient: give baseUrl or transport");
  } else {
    const tls = options.tls;
    const nodeOptions = tls && {
      ...(tls.ca !== undefined && { ca: tls.ca }),
      ...(tls.cert !== undefined && { cert: tls.cert }),
      ...(tls.key !== undefined && { key: tls.key }),
      ...(tls.serverName !== undefined && { servername: tls.serverName }),
    };
    // An explicit session manager so close() can end the connection.
    sessionManager = new Http2SessionManager(
      options.baseUrl,
      { pingIntervalMs: 30_000, idleConnectionTimeoutMs: 60_000 },
      nodeOptions,
    );
    transport = createGrpcTransport({
      baseUrl: options.baseUrl,
      sessionManager,
      interceptors: [auth, ...(options.interceptors ?? [])],
    });
  }
  const ingestService: Client<typeof IngestService> = createClient(IngestService, transport);
  const reconcileService = createClient(ReconcileService, transport);
  const healthService = createClient(Health, transport);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const streamCall = (streamKey: string, signal: AbortSignal) => ({
    headers: { "idempotency-key": streamKey },
    signal,
    timeoutMs: options.streamTimeoutMs ?? 300_000,
  });
  // One per client: what it learns of the server's RPCs holds for every ingestMany of the client.
  const openStream = streamOpener({
    ingestStream: (requests, streamKey, signal) =>
      ingestService.ingestStream(requests, streamCall(streamKey, signal)),
    ingestBatchStream: (messages, streamKey, signal) =>
      ingestService.ingestBatchStream(messages, streamCall(streamKey, signal)),
  });

  return {
    async ingest(sale, callOptions = {}) {
      const key = callOptions.idempotencyKey ?? saleKey(sale);
      // The transport would silently drop a non-ASCII key and the server key the sale by content.
      if (!isValidKey(key)) {
        throw new RangeError("idempotencyKey must be 1-255 printable ASCII characters");
      }
      const violations = preCheck(sale, options);
      if (violations.length > 0) throw new IngestError(invalidArgument(violations), 0);
      return withRetries(
        async ({ number }) => {
          const res = await ingestService.ingest(
            { sale },
            {
              headers: { "idempotency-key": key },
              ...(callOptions.signal && { signal: callOptions.signal }),
              timeoutMs: callOptions.timeoutMs ?? timeoutMs,
            },
          );
          if (
            (res.outcome !== Outcome.ACCEPTED && res.outcome !== Outcome.DUPLICATE) ||
            !res.acceptedAt
          ) {
            // Not retryable: the server answered, just not in a way this client understands.
            throw new ConnectError("answer without an outcome or time", Code.Internal);
          }
          return {
            recordId: res.recordId,
            outcome: res.outcome === Outcome.ACCEPTED ? "accepted" : "duplicate",
            acceptedAt: timestampDate(res.acceptedAt),
            idempotencyKey: res.idempotencyKey,
            attempts: number,
          } satisfies IngestResult;
        },
        policy,
        callOptions.signal,
        options.onRetry,
      );
    },
    ingestMany(sales, manyOptions = {}) {
      return ingestMany(openStream, sales, {
        ...manyOptions,
        policy,
        onRetry: manyOptions.onRetry ?? options.onRetry,
        validate: manyOptions.validate ?? options.validate,
        maxLineItems: manyOptions.maxLineItems ?? options.maxLineItems,
      });
    },
    async reconcile(input, callOptions = {}) {
      const call = {
        ...(callOptions.signal && { signal: callOptions.signal }),
        timeoutMs: callOptions.timeoutMs ?? timeoutMs,
      };
      // Reads: every call is safe to repeat.
      const retried = <T>(run: (attempt: number) => Promise<T>) =>
        withRetries(({ number }) => run(number), policy, callOptions.signal, options.onRetry);
      return reconcileDay(
        {
          reconcile: (request) =>
            retried(async (attempts) => ({
              response: await reconcileService.reconcile(request, call),
              attempts,
            })),
          digestKeys: (request) => retried(() => reconcileService.digestKeys(request, call)),
          listKeys: (request) => retried(() => reconcileService.listKeys(request, call)),
        },
        input,
        callOptions,
      );
    },
    async health(service = "", healthOptions = {}) {
      const res = await withRetries(
        () =>
          healthService.check(
            { service },
            {
              ...(healthOptions.signal && { signal: healthOptions.signal }),
              timeoutMs: healthOptions.timeoutMs ?? 5_000,
            },
          ),
        { ...policy, maxAttempts: 1 },
        healthOptions.signal,
      );
      return (HealthCheckResponse_ServingStatus[res.status] ?? "UNKNOWN") as HealthStatus;
    },
    close() {
      sessionManager?.abort();
    },
  };
}

/** `transport` with `name: value` added to every call's headers. */
function withHeader(transport: Transport, name: string, value: string): Transport {
  const headers = (init: ConstructorParameters<typeof Headers>[0]) => {
    const h = new Headers(init);
    h.set(name, value);
    return h;
  };
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.unary(method, signal, timeoutMs, headers(header), input, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.stream(method, signal, timeoutMs, headers(header), input, contextValues),
  };
}
