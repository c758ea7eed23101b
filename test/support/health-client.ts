import { type Client, credentials, makeClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { trackConnection } from "./leaks.js";
import { OWN_CONNECTION } from "./raw-client.js";

const HealthClient = makeClientConstructor(healthService, "grpc.health.v1.Health");

/** A grpc.health.v1 client, as a Kubernetes gRPC probe or grpc_health_probe would call it. */
export interface HealthProbe {
  /** The status of `service`, or the gRPC error code when the call fails. */
  check(service: string): Promise<string | number>;
  /** Opens a Watch and collects every status it streams. */
  watch(service: string): { statuses: string[]; cancel(): void; ended: Promise<void> };
  /** Ends the connection and forgets it (leaks.ts). */
  close(): void;
}

/** Opens a health client of the server on `port`, tracked until `close()`. */
export function healthProbe(port: number): HealthProbe {
  const forget = trackConnection(`healthProbe(${port})`);
  const client = new HealthClient(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
    OWN_CONNECTION,
  ) as unknown as Client & {
    check(...args: unknown[]): void;
    watch(request: { service: string }): NodeJS.EventEmitter & { cancel(): void };
  };
  return {
    check(service) {
      return new Promise((resolve) => {
        client.check(
          { service },
          { deadline: Date.now() + 2_000 },
          (err: ServiceError | null, res: { status: string }) =>
            resolve(err ? err.code : res.status),
        );
      });
    },
    watch(service) {
      const statuses: string[] = [];
      const call = client.watch({ service });
      call.on("data", (res: { status: string }) => statuses.push(res.status));
      const ended = new Promise<void>((resolve) => {
        call.on("end", resolve);
        call.on("error", () => resolve());
      });
      return { statuses, cancel: () => call.cancel(), ended };
    },
    close() {
      client.close();
      forget();
    },
  };
}
