import type { Logger } from "../observability/logger.js";

/** The health service names the server answers, and what each promises (see README). */
export const HEALTH_SERVICES = {
  liveness: "liveness",
  startup: "startup",
  readiness: "readiness",
  server: "",
  ingest: "pos.ingest.v1.IngestService",
  reconcile: "pos.ingest.v1.ReconcileService",
} as const;

export type HealthServiceName = (typeof HEALTH_SERVICES)[keyof typeof HEALTH_SERVICES];
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** The facts health is derived from. Each is fed by a real signal, never guessed. */
export interface HealthSignals {
  /** Initialisation finished: database reachable, schema at the expected migration. */
  readonly started: boolean;
  /** The last bounded database ping succeeded. */
  readonly databaseReachable: boolean;
  /** The database circuit breaker is open (calls fail fast). */
  readonly breakerOpen: boolean;
  /** Shutdown has begun. */
  readonly shuttingDown: boolean;
  /** The event loop has lagged beyond the liveness threshold. */
  readonly eventLoopStalled: boolean;
}

/** Derives per-service statuses from signals and reports each change once. */
export interface HealthModel {
  update(patch: Partial<HealthSignals>): void;
  status(service: HealthServiceName): ServingStatus;
  signals(): HealthSignals;
  /** Called with every status change (not with repeats). */
  onChange(listener: (service: HealthServiceName, status: ServingStatus) => void): void;
  /** Called with the signals after every update that changed one of them. */
  onSignals(listener: (signals: HealthSignals) => void): void;
}

function derive(s: HealthSignals): Record<HealthServiceName, ServingStatus> {
  const serving = (ok: boolean): ServingStatus => (ok ? "SERVING" : "NOT_SERVING");
  // Liveness deliberately ignores dependencies: restarting a healthy pod because Postgres
  // blinked turns a database hiccup into a fleet-wide restart.
  const ready = s.started && s.databaseReachable && !s.breakerOpen && !s.shuttingDown;
  return {
    liveness: serving(!s.eventLoopStalled),
    startup: serving(s.started),
    readiness: serving(ready),
    "": serving(ready),
    "pos.ingest.v1.IngestService": serving(ready),
    // Reconcile reads the same database the ingest writes: ready under the same conditions.
    "pos.ingest.v1.ReconcileService": serving(ready),
  };
}

/** Builds the health model in its starting state: alive, not started, not ready. */
export function createHealthModel(logger: Logger): HealthModel {
  let signals: HealthSignals = {
    started: false,
    databaseReachable: false,
    breakerOpen: false,
    shuttingDown: false,
    eventLoopStalled: false,
  };
  let statuses = derive(signals);
  const listeners: ((service: HealthServiceName, status: ServingStatus) => void)[] = [];
  const signalListeners: ((signals: HealthSignals) => void)[] = [];

  return {
    update(patch) {
      const next = { ...signals, ...patch };
      const nextStatuses = derive(next);
      const changedSignals = Object.entries(patch).filter(
        ([k, v]) => signals[k as keyof HealthSignals] !== v,
      );
      signals = next;
      for (const service of Object.keys(nextStatuses) as HealthServiceName[]) {
        if (nextStatuses[service] === statuses[service]) continue;
        if (
          service === HEALTH_SERVICES.readiness ||
          service === HEALTH_SERVICES.liveness ||
          service === HEALTH_SERVICES.startup
        ) {
          logger.info(
            {
              // Not `service`: the root logger binds that key to the service's own name, and a
              // line naming a key twice is rejected by strict log pipelines.
              probe: service,
              from: statuses[service],
              to: nextStatuses[service],
              signals: Object.fromEntries(changedSignals),
            },
            "health transition",
          );
        }
        for (const listener of listeners) listener(service, nextStatuses[service]);
      }
      statuses = nextStatuses;
      if (changedSignals.length > 0) for (const listener of signalListeners) listener(signals);
    },
    status: (service) => statuses[service],
    signals: () => signals,
    onChange(listener) {
      listeners.push(listener);
    },
    onSignals(listener) {
      signalListeners.push(listener);
    },
  };
}
