import type { DescService } from "@bufbuild/protobuf";
import {
  Server,
  type ServerCredentials,
  type ServerInterceptor,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ABORT_ANSWER_MS } from "../shutdown-budget.js";
import { addReflection, REFLECTION_SERVICES } from "./reflection.js";
import { toGrpcServiceDefinition } from "./service-adapter.js";

/** A service to serve: its protobuf-es descriptor and the grpc-js handlers for its methods. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: UntypedServiceImplementation;
}

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
  for (const { service, handlers } of options.bindings) {
    server.addService(toGrpcServiceDefinition(service), handlers);
  }
  addReflection(server, servedServices(options));
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
