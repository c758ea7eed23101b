import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { HEALTH_SERVICES, type HealthModel } from "../health/health-model.js";

/** What `/metrics` serves: an app's registry, or the primary's aggregate of a cluster's. */
export type MetricsSource = Pick<Registry, "metrics" | "contentType">;

/** The sidecar HTTP server: Prometheus scrapes, plus HTTP health for tools without gRPC. */
export interface MetricsServer {
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `/livez`, `/readyz`, `/startupz` (200 when
 * the matching gRPC health name is SERVING, else 503), on a port of its own so scrapes never
 * compete with ingest traffic for the gRPC server.
 */
export function createMetricsServer(
  registry: MetricsSource,
  health: Pick<HealthModel, "status">,
): MetricsServer {
  const probes: Record<string, (typeof HEALTH_SERVICES)[keyof typeof HEALTH_SERVICES]> = {
    "/livez": HEALTH_SERVICES.liveness,
    "/readyz": HEALTH_SERVICES.readiness,
    "/startupz": HEALTH_SERVICES.startup,
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        () => res.writeHead(500).end("metrics collection failed\n"),
      );
      return;
    }
    const probe = probes[path];
    if (probe !== undefined) {
      const serving = health.status(probe) === "SERVING";
      res.writeHead(serving ? 200 : 503, { "content-type": "text/plain" });
      res.end(serving ? "ok\n" : "not serving\n");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  // Scrapers keep connections alive; do not let them hold shutdown open.
  server.keepAliveTimeout = 5_000;

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
