import type { Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { MetricsSource } from "../observability/metrics-server.js";
import { sendToWorker, type WorkerMetrics } from "./messages.js";

/** How long a scrape waits for one worker; one that does not answer is left out, not waited for. */
const WORKER_REPLY_MS = 3_000;

/** The primary's side of metrics: asks each worker, adds its own, aggregates. */
export interface ClusterMetrics {
  /** For the sidecar: the workers' metrics aggregated, and the primary's own. */
  readonly source: MetricsSource;
  /** Hands a worker's reply to the scrape waiting for it. */
  reply(id: number, metrics: WorkerMetrics): void;
  /** Ends the waits on a worker that exited, without its metrics. */
  forget(worker: Worker): void;
}

/**
 * Collects metrics over the cluster's IPC channel. Not prom-client's `clusterMetrics()`: that
 * asks every connected worker, including one still loading that cannot answer yet, and fails
 * the whole scrape after 5 s when one does not; here only `ready()` workers are asked (those
 * that reported, so listen) and a silent one is left out of that scrape.
 *
 * Samples are merged by each metric's `aggregator` (src/observability/metrics.ts says which):
 * counters and histograms are summed, so `ingest_records_total` is the cluster's.
 */
export function createClusterMetrics(
  own: Registry,
  ready: () => readonly Worker[],
): ClusterMetrics {
  let nextId = 0;
  const waiting = new Map<number, { worker: Worker; done: (m?: WorkerMetrics) => void }>();

  const ask = (worker: Worker): Promise<WorkerMetrics | undefined> =>
    new Promise((resolve) => {
      // Exiting: its exit handler would end the wait anyway, a moment later.
      if (!worker.isConnected()) return resolve(undefined);
      const id = nextId++;
      const timer = setTimeout(() => done(undefined), WORKER_REPLY_MS);
      const done = (metrics?: WorkerMetrics): void => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(metrics);
      };
      waiting.set(id, { worker, done });
      sendToWorker(worker, { type: "pos-ingest:metrics-request", id });
    });

  return {
    source: {
      contentType: own.contentType,
      async metrics() {
        const replies = await Promise.all(ready().map(ask));
        const all = [...replies.filter((r) => r !== undefined), await own.getMetricsAsJSON()];
        return AggregatorRegistry.aggregate(all).metrics();
      },
    },
    reply(id, metrics) {
      waiting.get(id)?.done(metrics);
    },
    forget(worker) {
      for (const wait of [...waiting.values()]) if (wait.worker === worker) wait.done(undefined);
    },
  };
}
