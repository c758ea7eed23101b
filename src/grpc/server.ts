import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import { ABORT_ANSWER_MS } from "../lifecycle/shutdown-budget.js";
import type { Logger } from "../observability/logger.js";
import { guardConnection, HTTP2_ERROR_NAMES } from "./connection-guard.js";
import { carryPeer } from "./connection-peer.js";
import { addReflection, REFLECTION_SERVICES } from "./reflection.js";
import { toGrpcServiceDefinition } from "./service-adapter.js";
import type { ServiceBinding } from "./typed-service.js";

export type { ServiceBinding };

/** A service implemented by a library that registers itself (grpc.health.v1.Health). */
export interface SelfRegisteringService {
  /** Its descriptor, so reflection and the metrics describe it too. */
  readonly service: DescService;
  addToServer(server: Server): void;
}

/** What the server is told to serve. */
export interface ServedServices {
  readonly bindings: readonly ServiceBinding[];
  readonly extraServices?: readonly SelfRegisteringService[];
}

/**
 * Every service the server built from `options` registers, reflection included: the one list
 * reflection describes and the gRPC metrics are initialised from, so neither can miss one.
 */
export function servedServices(options: ServedServices): DescService[] {
  return [
    ...options.bindings.map((b) => b.service),
    ...(options.extraServices ?? []).map((e) => e.service),
    ...REFLECTION_SERVICES,
  ];
}

/**
 * Builds the grpc-js server with the given services, any extra services (health) that register
 * themselves, and server reflection describing all of them.
 */
export function createGrpcServer(
  options: ServedServices & {
    maxMessageBytes: number;
    interceptors?: ServerInterceptor[];
    connections?: {
      maxStreamsPerConnection: number;
      keepaliveTimeMs: number;
      keepaliveTimeoutMs: number;
      maxAgeMs: number;
      maxAgeGraceMs: number;
    };
  },
): Server {
  const c = options.connections;
  const server = new Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": 16 * 1024 * 1024,
    ...(c && {
      // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: one connection cannot open unbounded calls.
      "grpc.max_concurrent_streams": c.maxStreamsPerConnection,
      // Ping idle clients so half-dead connections (a store router that vanished) are reaped.
      "grpc.keepalive_time_ms": c.keepaliveTimeMs,
      "grpc.keepalive_timeout_ms": c.keepaliveTimeoutMs,
      // Recycle connections now and then so load spreads to new replicas after a scale-out.
      "grpc.max_connection_age_ms": c.maxAgeMs,
      "grpc.max_connection_age_grace_ms": c.maxAgeGraceMs,
    }),
    interceptors: options.interceptors ?? [],
  });
  for (const extra of options.extraServices ?? []) extra.addToServer(server);
  for (const { service, handlers, fastDecoders, deferred } of options.bindings) {
    server.addService(toGrpcServiceDefinition(service, fastDecoders, deferred), handlers);
  }
  addReflection(server, servedServices(options));
  return server;
}

/** A gRPC port this process accepts connections on itself. */
export interface GuardedPort {
  readonly port: number;
  /** Stops accepting connections; open ones end with the grpc-js server's shutdown. */
  close(): void;
}

/**
 * Listens for gRPC on `host:port` (0 picks a free port) and hands every connection to `server`
 * through the HTTP/2 frame guard, so one client's stray RST_STREAM cannot end the
 * connection other calls share (see `guardConnection`). Logs, at warn, every connection the
 * server ends with an HTTP/2 error, and why.
 */
export function listenGuarded(
  server: Server,
  host: string,
  port: number,
  logger: Logger,
  /** Makes the listening server; plaintext TCP unless given (TLS: `createGrpcTlsServer`). */
  createListener: (onConnection: (socket: Socket) => void) => NetServer = createServer,
): Promise<GuardedPort> {
  // Connections arrive decrypted, so grpc-js serves them as plaintext HTTP/2.
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = createListener((socket) => {
    // Frames are written as the session produces them; Nagle's algorithm would hold a small
    // answer back until the client's delayed ACK (tens of milliseconds per call).
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let idleResets = 0;
    injector.injectConnection(
      carryPeer(
        guardConnection(socket, {
          onIdleStreamReset(stream, code) {
            idleResets++;
            logger.debug(
              { peer, stream, http2Error: HTTP2_ERROR_NAMES[code] ?? code },
              "dropped RST_STREAM for a stream the client never opened",
            );
          },
          onGoaway(code, lastStreamId, debug) {
            const fields = {
              peer,
              http2Error: HTTP2_ERROR_NAMES[code] ?? code,
              lastStreamId,
              idleResetsDropped: idleResets,
              ...(debug && { reason: debug }),
            };
            // NO_ERROR is a planned close (connection age, shutdown); anything else cuts off every
            // call on the connection, which operators must be able to see.
            if (code === 0) logger.debug(fields, "server closed the connection");
            else logger.warn(fields, "server tore down a connection");
          },
        }),
        socket,
      ),
    );
  });
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => {
      listener.off("error", reject);
      const address = listener.address();
      resolve({
        port: typeof address === "object" && address ? address.port : port,
        close: () => listener.close(),
      });
    });
  });
}

/**
 * Stops taking new calls and lets calls in flight finish. At `deadlineMs`, `onDeadline` runs (to
 * end open streams with a proper status) and, a moment later, whatever is left is cancelled.
 */
export function shutdownGrpcServer(
  server: Server,
  deadlineMs: number,
  onDeadline: () => void,
): Promise<"clean" | "forced"> {
  return new Promise((resolve) => {
    let forced = false;
    const deadline = setTimeout(() => {
      forced = true;
      onDeadline();
      setTimeout(() => {
        server.forceShutdown();
        // grpc-js never calls back for a session that was destroyed (a connection torn down with
        // an error) but had not yet reported itself closed when tryShutdown began; once
        // everything is forced closed there is nothing left to wait for.
        resolve("forced");
      }, ABORT_ANSWER_MS).unref();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(deadline);
      resolve(forced ? "forced" : "clean");
    });
  });
}
