import cluster, { type Worker } from "node:cluster";
import { Counter, Gauge, Registry } from "prom-client";
import type { Config } from "../config/index.js";
import { shutdownWorstCaseMs } from "../lifecycle/shutdown-budget.js";
import type { Logger } from "../observability/logger.js";
import { createMetricsServer } from "../observability/metrics-server.js";
import { allStatuses, clusterStatuses, type HealthStatuses } from "./cluster-health.js";
import { createClusterMetrics } from "./cluster-metrics.js";
import { isWorkerMessage, sendToWorker } from "./messages.js";
import { DEFAULT_RESTART_POLICY, type RestartPolicy, restartDelay } from "./restart-backoff.js";
import { SIDECAR_PORT_ENV } from "./seat.js";

/** Time past the workers' own shutdown bound before the primary kills what is left. */
const KILL_MARGIN_MS = 5_000;

/** One of the N places a worker runs in; its worker is replaced when it dies. */
interface Slot {
  worker: Worker | undefined;
  /** The worker's last health report; undefined until it has sent one. */
  statuses: HealthStatuses | undefined;
  startedAt: number;
  /** Replacements in a row of workers that died young (restart-backoff.ts). */
  streak: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs this process as the primary of `config.cluster.workers` workers on one port: binds the
 * sidecar (aggregated /metrics, and probes that answer for every worker), forks the workers
 * (each runs the app and listens on the gRPC port, whose handle node:cluster shares), tells
 * them the cluster's health, replaces a worker that dies with a backoff, and on SIGTERM/SIGINT
 * drains them all: exit 0 when every worker stopped clean, 1 if any was forced or died.
 * A second signal kills the workers and exits 1 at once.
 */
export async function runPrimary(
  config: Config,
  logger: Logger,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): Promise<void> {
  const registry = new Registry();
  const restarts = new Counter({
    name: "cluster_worker_restarts_total",
    help: "Worker processes forked to replace one that died (crash, kill, out of memory).",
    registers: [registry],
  });
  const slots: Slot[] = Array.from({ length: config.cluster.workers }, () => ({
    worker: undefined,
    statuses: undefined,
    startedAt: 0,
    streak: 0,
    restartTimer: undefined,
  }));
  new Gauge({
    name: "cluster_workers",
    help: "Worker processes running now, of the configured WORKERS.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      this.set({ state: "running" }, slots.filter((s) => s.worker).length);
      this.set({ state: "configured" }, slots.length);
    },
  });
  const live = (): Slot[] => slots.filter((s) => s.worker !== undefined);
  const metrics = createClusterMetrics(registry, () =>
    live().flatMap((s) => (s.worker && s.statuses ? [s.worker] : [])),
  );

  let stopping = false;
  let everReady = false;
  let anyForced = false;
  let health = allStatuses("NOT_SERVING");
  const sidecar = createMetricsServer(metrics.source, { status: (name) => health[name] });

  /** Recomputes the cluster's health and tells every worker when it changed. */
  const publishHealth = (newcomer?: Worker): void => {
    const next = clusterStatuses(
      live().map((s) => s.statuses),
      stopping,
    );
    const changed = (Object.keys(next) as (keyof HealthStatuses)[]).filter(
      (name) => next[name] !== health[name],
    );
    if (changed.includes("readiness")) {
      logger.info(
        { probe: "readiness", from: health.readiness, to: next.readiness, workers: live().length },
        "cluster health transition",
      );
    }
    health = next;
    for (const { worker } of live()) {
      if (worker && (changed.length > 0 || worker === newcomer)) {
        sendToWorker(worker, { type: "pos-ingest:cluster-health", statuses: health });
      }
    }
    if (!everReady && health.readiness === "SERVING") {
      everReady = true;
      logger.info({ workers: slots.length }, "cluster ready");
    }
  };

  const fork = (slot: Slot): void => {
    const worker = cluster.fork({ [SIDECAR_PORT_ENV]: String(sidecarPort) });
    slot.worker = worker;
    slot.statuses = undefined;
    slot.startedAt = performance.now();
    worker.on("message", (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === "pos-ingest:metrics") {
        metrics.reply(message.id, message.metrics);
        return;
      }
      const first = slot.statuses === undefined;
      slot.statuses = message.statuses;
      publishHealth(first ? worker : undefined);
    });
    worker.on("exit", (code: number | null, signal: string | null) =>
      onExit(slot, worker, code, signal),
    );
    logger.info({ worker: worker.id, pid: worker.process.pid }, "worker forked");
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    slot.worker = undefined;
    slot.statuses = undefined;
    metrics.forget(worker);
    const livedMs = Math.round(performance.now() - slot.startedAt);
    const fields = { worker: worker.id, code, signal, livedMs };
    if (stopping) {
      if (code !== 0) anyForced = true;
      logger.info(fields, "worker stopped");
      if (live().length === 0) void finish();
      return;
    }
    publishHealth();
    if (!everReady) {
      // As a single process that fails to start exits 1: the platform restarts the pod and
      // shows the failure, rather than this loop hiding it behind restarts.
      logger.fatal(fields, "worker exited before the cluster was ready; stopping");
      anyForced = true;
      beginStop("start failed");
      return;
    }
    const next = restartDelay(policy, slot.streak, livedMs);
    slot.streak = next.streak;
    logger.error({ ...fields, restartInMs: next.delayMs }, "worker died; replacing it");
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      restarts.inc();
      fork(slot);
    }, next.delayMs);
  };

  const finish = async (): Promise<void> => {
    await sidecar.close();
    logger.info({ how: anyForced ? "forced" : "clean" }, "cluster stopped");
    process.exit(anyForced ? 1 : 0);
  };

  const beginStop = (reason: string): void => {
    stopping = true;
    // Every worker says NOT_SERVING from now on, whichever a probe reaches.
    publishHealth();
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    logger.info({ reason, workers: live().length }, "shutting down");
    for (const slot of live()) slot.worker?.process.kill("SIGTERM");
    if (live().length === 0) {
      void finish();
      return;
    }
    // Each worker bounds its own drain; this catches one that is wedged past that bound.
    const boundMs =
      shutdownWorstCaseMs({ ...config.shutdown, breakerTimeoutMs: config.breaker.timeoutMs }) +
      KILL_MARGIN_MS;
    setTimeout(() => {
      logger.error({ boundMs, workers: live().length }, "workers outlived the shutdown; killing");
      killAll();
    }, boundMs).unref();
  };

  const killAll = (): void => {
    for (const slot of live()) slot.worker?.process.kill("SIGKILL");
    process.exit(1);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      killAll();
    }
    beginStop(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  let sidecarPort: number;
  try {
    sidecarPort = await sidecar.listen(config.metrics.host, config.metrics.port);
  } catch (err) {
    logger.fatal({ err }, `start failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  logger.info(
    { workers: slots.length, metricsPort: sidecarPort, pid: process.pid },
    "cluster primary started",
  );
  for (const slot of slots) fork(slot);
}
