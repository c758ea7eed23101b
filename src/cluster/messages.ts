import type { Worker } from "node:cluster";
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { HealthStatuses } from "./cluster-health.js";

// The IPC messages between the primary and its workers, over node:cluster's channel. Each is
// tagged so a message some library sends on the same channel (prom-client's, node's own
// internal ones) is never taken for one of ours.

/** A worker's metrics, as `Registry.getMetricsAsJSON` gives them. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** From a worker: its own statuses, sent once it can answer requests and on every change. */
export interface HealthReport {
  readonly type: "pos-ingest:health";
  readonly statuses: HealthStatuses;
}

/** From a worker: its metrics, answering the request with the same `id`. */
export interface MetricsReply {
  readonly type: "pos-ingest:metrics";
  readonly id: number;
  readonly metrics: WorkerMetrics;
}

/** From the primary: the cluster's statuses, sent to every worker on every change. */
export interface ClusterHealth {
  readonly type: "pos-ingest:cluster-health";
  readonly statuses: HealthStatuses;
}

/** From the primary: send your metrics (a scrape of the sidecar is under way). */
export interface MetricsRequest {
  readonly type: "pos-ingest:metrics-request";
  readonly id: number;
}

export type WorkerMessage = HealthReport | MetricsReply;
export type PrimaryMessage = ClusterHealth | MetricsRequest;

const WORKER_TYPES = new Set(["pos-ingest:health", "pos-ingest:metrics"]);
const PRIMARY_TYPES = new Set(["pos-ingest:cluster-health", "pos-ingest:metrics-request"]);

const typeOf = (message: unknown): unknown =>
  typeof message === "object" && message !== null && "type" in message ? message.type : undefined;

/** Whether `message` (from a worker) is one of ours. */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return WORKER_TYPES.has(typeOf(message) as string);
}

/** Whether `message` (from the primary) is one of ours. */
export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return PRIMARY_TYPES.has(typeOf(message) as string);
}

/**
 * Sends to a worker; a worker that has just died is not an error. Without a callback node emits
 * a closed channel as an `error` event on the worker's process, which nothing listens for, and
 * that would end the primary.
 */
export function sendToWorker(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, ignoreClosedChannel);
}

/** Sends to the primary, if it is still there (the worker stops when it is not). */
export function sendToPrimary(message: WorkerMessage): void {
  if (process.connected) process.send?.(message, undefined, undefined, ignoreClosedChannel);
}

// The exit or disconnect handlers act on a channel that closed; the send itself has nothing to add.
const ignoreClosedChannel = (): void => {};
