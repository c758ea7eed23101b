import type { status } from "@grpc/grpc-js";
import { RateLimitedError } from "../errors.js";
import { statusName } from "../grpc/status.js";
import { HEALTH_SERVICES, type HealthModel } from "../health/health-model.js";
import type { IngestObserver, RecordBudget } from "../ingest/model.js";
import type { ReconcileObserver } from "../ingest/reconcile-model.js";
import type { DbBreaker } from "../resilience/breaker.js";
import type { TenantRateLimiter } from "../resilience/rate-limiter.js";
import type { QueryObserver } from "../storage/database.js";
import { type Metrics, queryOperation } from "./metrics.js";

// The glue between the app's components and its metrics, in one place: the components report
// through small observer interfaces and know nothing of prom-client; this file says which metric
// each report feeds. The composition root wires these in and does nothing else with metrics.

/** Keeps the health and breaker gauges in step with the components' state from now on. */
export function meterStateChanges(metrics: Metrics, health: HealthModel, breaker: DbBreaker): void {
  const serving = (s: string) => (s === "SERVING" ? 1 : 0);
  for (const name of Object.values(HEALTH_SERVICES)) {
    metrics.healthStatus.set({ service: name }, serving(health.status(name)));
  }
  health.onChange((service, s) => metrics.healthStatus.set({ service }, serving(s)));
  metrics.breakerState.set({ name: "database" }, 0);
  breaker.onStateChange((state) => {
    metrics.breakerState.set({ name: "database" }, { closed: 0, half_open: 1, open: 2 }[state]);
    metrics.breakerTransitions.inc({ name: "database", to: state });
  });
}

/** Times every query by operation and outcome. */
export function meterQueries(metrics: Metrics): QueryObserver {
  return (text, ms, failed) =>
    metrics.dbQuerySeconds.observe(
      { operation: queryOperation(text), result: failed ? "error" : "ok" },
      ms / 1000,
    );
}

/** The tenant's budget as the ingest service takes it, counting each refusal per tenant. */
export function meteredBudget(limiter: TenantRateLimiter, metrics: Metrics): RecordBudget {
  return {
    async acquire(tenantId, records, maxWaitMs) {
      try {
        await limiter.acquire(tenantId, records, maxWaitMs);
      } catch (err) {
        if (err instanceof RateLimitedError) {
          metrics.rateLimited.inc({ tenant: metrics.tenantLabel(tenantId) });
        }
        throw err;
      }
    },
  };
}

/** Counts records by outcome (and duplicates on their own) and batch sizes by write path. */
export function ingestObserver(metrics: Metrics): IngestObserver {
  return {
    records(tenantId, source, outcome, count) {
      const labels = metrics.ingestLabels(tenantId, source);
      metrics.ingestRecords.inc({ ...labels, outcome }, count);
      if (outcome === "duplicate") metrics.ingestDedup.inc(labels, count);
    },
    batch: (path, size) => metrics.ingestBatchSize.observe({ path }, size),
  };
}

/** Times each stream by the status it ended with. */
export function meterStreams(metrics: Metrics): (code: status, seconds: number) => void {
  return (code, seconds) =>
    metrics.ingestStreamSeconds.observe({ code: statusName(code) }, seconds);
}

/** Counts reconciliations per tenant by result, and the figures that differed. */
export function reconcileObserver(metrics: Metrics): ReconcileObserver {
  return {
    reconciled(tenantId, match, differences) {
      const tenant = metrics.reconcileLabel(tenantId);
      metrics.reconciliations.inc({ tenant, result: match ? "match" : "mismatch" });
      if (differences > 0) metrics.reconcileDifferences.inc({ tenant }, differences);
    },
  };
}
