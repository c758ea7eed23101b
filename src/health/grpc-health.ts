import type { DescService } from "@bufbuild/protobuf";
import type { Server, ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { HEALTH_SERVICES, type HealthModel } from "./health-model.js";

/** The standard grpc.health.v1.Health service, fed by the health model. */
export interface GrpcHealth {
  /**
   * grpc.health.v1.Health's descriptor, for reflection and metrics. It is generated from the
   * very proto grpc-health-check serves (third_party/grpc-proto is copied from that package).
   */
  readonly service: DescService;
  addToServer(server: Server): void;
  /** Ends every open Watch so a shutting-down server is not held open by watchers. */
  endWatches(): void;
}

/**
 * Serves grpc.health.v1.Health through grpc-health-check (Check, Watch, List; NOT_FOUND and
 * SERVICE_UNKNOWN for names it does not know, as the protocol says). The library keeps Watch
 * streams open forever, which would hold a graceful shutdown open until its deadline, so Watch
 * calls are tracked and ended when shutdown begins. `model` is the app's health model, or in a
 * cluster worker the view that also holds the other workers' (src/cluster/cluster-health.ts).
 */
export function createGrpcHealth(model: Pick<HealthModel, "status" | "onChange">): GrpcHealth {
  const initial = Object.fromEntries(
    Object.values(HEALTH_SERVICES).map((name) => [name, model.status(name)]),
  );
  const implementation = new HealthImplementation(initial);
  model.onChange((service, status) => implementation.setStatus(service, status));
  const watches = new Set<ServerWritableStream<unknown, unknown>>();

  return {
    service: Health,
    addToServer(server) {
      const trackingServer = {
        addService: (
          definition: Parameters<Server["addService"]>[0],
          impl: UntypedServiceImplementation,
        ) => {
          const watch = impl.watch as (call: ServerWritableStream<unknown, unknown>) => void;
          server.addService(definition, {
            ...impl,
            watch: (call: ServerWritableStream<unknown, unknown>) => {
              watches.add(call);
              call.on("cancelled", () => watches.delete(call));
              watch(call);
            },
          });
        },
      };
      implementation.addToServer(trackingServer as unknown as Server);
    },
    endWatches() {
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
