import type { ClientSessionOptions, SecureClientSessionOptions } from "node:http2";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll } from "vitest";
import { IngestService } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { ReconcileService } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { trackConnection } from "./leaks.js";

/** An IngestService client (connect-node, gRPC protocol) on an HTTP/2 connection of its own. */
export interface IngestConnection {
  readonly client: Client<typeof IngestService>;
  /** Ends the connection (calls still in flight fail) and forgets it (leaks.ts). */
  close(): void;
}

/**
 * Opens a client of IngestService at `baseUrl`, tracked until `close()`: a test file that never
 * closes it fails, naming `label` and the line that opened it. `nodeOptions` go to the HTTP/2
 * session (TLS trust, `createConnection` for a chosen source address).
 */
export function connectIngest(
  baseUrl: string,
  options: {
    label?: string;
    nodeOptions?: ClientSessionOptions | SecureClientSessionOptions;
  } = {},
): IngestConnection {
  // An explicit session manager: a transport's own one has no way to be closed.
  const session = new Http2SessionManager(baseUrl, {}, options.nodeOptions);
  const forget = trackConnection(options.label ?? `connectIngest(${baseUrl})`);
  return {
    client: createClient(IngestService, createGrpcTransport({ baseUrl, sessionManager: session })),
    close() {
      session.abort();
      forget();
    },
  };
}

/** A ReconcileService client (connect-node, gRPC protocol) on an HTTP/2 connection of its own. */
export interface ReconcileConnection {
  readonly client: Client<typeof ReconcileService>;
  /** Ends the connection and forgets it (leaks.ts). */
  close(): void;
}

/** Opens a client of ReconcileService at `baseUrl`, tracked until `close()` as `connectIngest`'s. */
export function connectReconcile(baseUrl: string, label?: string): ReconcileConnection {
  const session = new Http2SessionManager(baseUrl);
  const forget = trackConnection(label ?? `connectReconcile(${baseUrl})`);
  return {
    client: createClient(
      ReconcileService,
      createGrpcTransport({ baseUrl, sessionManager: session }),
    ),
    close() {
      session.abort();
      forget();
    },
  };
}

/**
 * For a file that opens clients where it calls (`clientOf(server).ingest(…)`): returns a
 * `connectIngest` whose connections all close at the end of the file, whatever its outcome.
 *
 * Call it at the top of the file, before the hooks that stop its servers: its afterAll then runs
 * after theirs (vitest runs after-hooks in reverse order), so the servers stop first. The other
 * order races the server's shutdown: a connection aborted just before it (connect-node's only
 * close is an abort, GOAWAY CANCEL) can leave grpc-js waiting for a session that never reports
 * itself closed, and the stop runs into its deadline ("forced"; seen with two replicas stopped
 * right after their clients closed).
 */
export function clientsClosedAtFileEnd(): (
  baseUrl: string,
  options?: Parameters<typeof connectIngest>[1],
) => Client<typeof IngestService> {
  const opened: IngestConnection[] = [];
  afterAll(() => {
    for (const c of opened.splice(0)) c.close();
  });
  return (baseUrl, options) => {
    const c = connectIngest(baseUrl, options);
    opened.push(c);
    return c.client;
  };
}
