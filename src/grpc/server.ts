import type { DescService } from "@bufbuild/protobuf";
import {
  Server,
  type ServerCredentials,
  type ServerInterceptor,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ABORT_ANSWER_MS } from "../shutdown-budget.js";
import { addReflection } from "./reflection.js";
import { toGrpcServiceDefinition } from "./service-adapter.js";

/** A service to serve: its protobuf-es descriptor and the grpc-js handlers for its methods. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: UntypedServiceImplementation;
}

/**
 * Builds the grpc-js server with the given services, server reflection for them, and any extra
 * services (health) that register themselves.
 */
export function createGrpcServer(options: {
  bindings: readonly ServiceBinding[];
  maxMessageBytes: number;
  interceptors?: ServerInterceptor[];
  extraServices?: (server: Server) => void;
  connections?: {
    maxStreamsPerConnection: number;
    keepaliveTimeMs: number;
    keepaliveTimeoutMs: number;
    maxAgeMs: number;
    maxAgeGraceMs: number;
  };
}): Server {
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
  options.extraServices?.(server);
  for (const { service, handlers } of options.bindings) {
    server.addService(toGrpcServiceDefinition(service), handlers);
  }
  addReflection(
    server,
    options.bindings.map((b) => b.service),
  );
  return server;
}

/** Binds the server (port 0 picks a free one) and resolves with the bound port. */
export function bindGrpcServer(
  server: Server,
  host: string,
  port: number,
  credentials: ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, credentials, (err, boundPort) => {
      if (err) reject(err);
      else resolve(boundPort);
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
      setTimeout(() => server.forceShutdown(), ABORT_ANSWER_MS).unref();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(deadline);
      resolve(forced ? "forced" : "clean");
    });
  });
}
