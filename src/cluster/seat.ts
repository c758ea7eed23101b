import type { HealthModel } from "../health/health-model.js";
import type { MetricsServer } from "../observability/metrics-server.js";
import type { HealthView } from "./cluster-health.js";

/**
 * How the primary tells a worker the sidecar's port, which it bound before forking (the worker
 * logs it in its "listening" line, as a single process logs its own). Not configuration: the
 * primary sets it on the workers it forks, from the port it actually bound.
 */
export const SIDECAR_PORT_ENV = "POS_INGEST_CLUSTER_SIDECAR_PORT";

/** What an app running as one worker of a cluster uses in place of its own health and sidecar. */
export interface ClusterSeat {
  /** What gRPC health answers: this worker's `local` model combined with the cluster's. */
  healthView(local: HealthModel): HealthView;
  /** Stands in for the sidecar, which the primary serves for the whole cluster. */
  readonly metricsServer: MetricsServer;
}
