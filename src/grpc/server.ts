import type { DescService } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { addReflection } from "./reflection.js";
import { toGrpcServiceDefinition } from "./service-adapter.js";

/** A service to serve: its protobuf-es descriptor and the grpc-js handlers for its methods. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: UntypedServiceImplementation;
}

/** Builds the grpc-js server with the given services and server reflection for them. */
export function createGrpcServer(options: {
  bindings: readonly ServiceBinding[];
  maxMessageBytes: number;
}): Server {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": 16 * 1024 * 1024,
  });
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
export function bindGrpcServer(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) reject(err);
      else resolve(boundPort);
    });
  });
}

/** Stops the server: lets calls in flight finish for up to `graceMs`, then cancels the rest. */
export function shutdownGrpcServer(server: Server, graceMs: number): Promise<"clean" | "forced"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve("forced");
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve("clean");
    });
  });
}
