import {
  HEALTH_SERVICES,
  type HealthModel,
  type HealthServiceName,
  type ServingStatus,
} from "../health/health-model.js";

/** A status for every health service name: what one worker, or the cluster, answers. */
export type HealthStatuses = Readonly<Record<HealthServiceName, ServingStatus>>;

/** What gRPC health and the HTTP probes read: a status per name, and each change of one. */
export type HealthView = Pick<HealthModel, "status" | "onChange">;

const NAMES = Object.values(HEALTH_SERVICES);

/** Every name at `status`. */
export function allStatuses(status: ServingStatus): HealthStatuses {
  return Object.fromEntries(NAMES.map((name) => [name, status])) as HealthStatuses;
}

/** A worker's own statuses, read from its health model. */
export function statusesOf(view: Pick<HealthModel, "status">): HealthStatuses {
  return Object.fromEntries(NAMES.map((name) => [name, view.status(name)])) as HealthStatuses;
}

/**
 * The cluster's status per name. The rule: SERVING only while the cluster is not shutting down
 * and every live worker (forked and not yet seen to exit) says SERVING; a worker that has not
 * reported yet counts as NOT_SERVING, but for liveness (it is starting, not stuck: a probe
 * failing then would restart the whole pod for one replacement), and no workers at all is
 * NOT_SERVING.
 *
 * Why every worker and not most: the port hands each new connection to any worker, so a probe
 * that passes while one worker is not ready tells a load balancer to send connections that
 * worker then refuses with UNAVAILABLE. The cost is that readiness dips while a replaced worker
 * starts (a few hundred milliseconds), which is true: a share of new connections would fail.
 */
export function clusterStatuses(
  workers: readonly (HealthStatuses | undefined)[],
  shuttingDown: boolean,
): HealthStatuses {
  if (shuttingDown || workers.length === 0) return allStatuses("NOT_SERVING");
  return Object.fromEntries(
    NAMES.map((name) => [
      name,
      workers.every((w) =>
        w === undefined ? name === HEALTH_SERVICES.liveness : w[name] === "SERVING",
      )
        ? "SERVING"
        : "NOT_SERVING",
    ]),
  ) as HealthStatuses;
}

/**
 * What a worker answers: SERVING for a name only when both its own model and the cluster's
 * last word say so. Its own model counts at once (its shutdown, its database outage), without
 * waiting for the primary's round trip; the cluster's tells it about the other workers.
 */
export function workerHealthView(local: HealthModel): {
  readonly view: HealthView;
  /** Takes the cluster's statuses (from the primary) and tells listeners what changed. */
  setCluster(statuses: HealthStatuses): void;
} {
  // Until the primary has spoken, the cluster is not known to be serving.
  let cluster = allStatuses("NOT_SERVING");
  // Kept from the change events: the model tells its listeners before `status` reads the new value.
  const own: Record<HealthServiceName, ServingStatus> = { ...statusesOf(local) };
  const combined = (name: HealthServiceName): ServingStatus =>
    own[name] === "SERVING" && cluster[name] === "SERVING" ? "SERVING" : "NOT_SERVING";
  let last = statusesOf({ status: combined });
  const listeners: ((service: HealthServiceName, status: ServingStatus) => void)[] = [];
  const publish = (): void => {
    const next = statusesOf({ status: combined });
    for (const name of NAMES) {
      if (next[name] === last[name]) continue;
      for (const listener of listeners) listener(name, next[name]);
    }
    last = next;
  };
  local.onChange((name, status) => {
    own[name] = status;
    publish();
  });
  return {
    view: {
      status: (name) => last[name],
      onChange(listener) {
        listeners.push(listener);
      },
    },
    setCluster(statuses) {
      cluster = statuses;
      publish();
    },
  };
}
