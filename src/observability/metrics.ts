import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from "prom-client";
import { RECORD_OUTCOMES, WRITE_PATHS } from "../ingest/model.js";
import { createLabelCap } from "./label-cap.js";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric the service exports, registered once on the app's own registry. */
export interface Metrics {
  readonly registry: Registry;
  readonly grpcStarted: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly grpcHandled: Counter<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code">;
  readonly grpcMsgReceived: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly grpcMsgSent: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly grpcHandlingSeconds: Histogram<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly ingestRecords: Counter<"tenant" | "source" | "outcome">;
  readonly ingestDedup: Counter<"tenant" | "source">;
  readonly ingestBatchSize: Histogram<"path">;
  readonly ingestStreamSeconds: Histogram<"code">;
  readonly dbQuerySeconds: Histogram<"operation" | "result">;
  readonly healthStatus: Gauge<"service">;
  /** 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge<"name">;
  readonly breakerTransitions: Counter<"name" | "to">;
  readonly rateLimited: Counter<"tenant">;
  /** Failed authentications: missing, malformed, unknown key, or refused for the address's budget. */
  readonly authFailures: Counter<"reason">;
  /** Reconciliations run, per tenant, by result: match or mismatch. */
  readonly reconciliations: Counter<"tenant" | "result">;
  /** Figures that differed in mismatched reconciliations, per tenant. */
  readonly reconcileDifferences: Counter<"tenant">;
  /** 1 for the backend rate limits are enforced with right now (redis, insurance, memory). */
  readonly rateLimiterBackend: Gauge<"backend">;
  /**
   * The tenant label, capped. The first time a label value is seen its `rate_limited_total`
   * starts at 0, so the first refusal shows in rate() (a series born at 1 hides its first event).
   */
  readonly tenantLabel: (tenant: string) => string;
  /**
   * The tenant label of a reconciliation, capped. The first time a label value is seen its
   * `reconciliations_total` starts at 0 for both results, so a tenant whose reconciliations
   * matched until now shows its first mismatch in rate() (a series born at 1 hides it); so does
   * its `reconcile_differences_total`.
   */
  readonly reconcileLabel: (tenant: string) => string;
  /**
   * The tenant and source labels of a tenant's records from a source, capped. The first time a
   * pair is seen its `ingest_records_total` for every outcome and its `ingest_dedup_total` start
   * at 0, so a new tenant's dedup ratio is 0, not absent or NaN.
   */
  readonly ingestLabels: (tenant: string, source: string) => { tenant: string; source: string };
}

export interface MetricsOptions {
  readonly maxTenantLabels: number;
  readonly maxSourceLabels: number;
  readonly build: { readonly version: string; readonly commit: string };
  /** Pool counters read at scrape time; undefined when there is no pool (PGlite). */
  readonly pool?: () => { total: number; idle: number; waiting: number };
  /** The rate limiter's backend, read at scrape time; undefined before start-up. */
  readonly limiterBackend?: () => string | undefined;
}

/**
 * Creates the service's metrics on `registry`. Names and labels of the gRPC metrics are those of
 * go-grpc-prometheus, so existing Grafana dashboards work unchanged. Called once per app: two
 * apps in one process (as in tests) use two registries and never collide.
 */
export function createMetrics(registry: Registry, options: MetricsOptions): Metrics {
  const registers = [registry];
  const grpcLabels = ["grpc_type", "grpc_service", "grpc_method"] as const;
  collectDefaultMetrics({ register: registry });
  dropMisnamedDefaults(registry);

  new Gauge({
    name: "build_info",
    help: "Build information; the value is always 1.",
    labelNames: ["version", "commit", "node"],
    registers,
    // Every worker of a cluster runs the same build: one sample, not a count of workers.
    aggregator: "first",
  }).set(
    { version: options.build.version, commit: options.build.commit, node: process.version },
    1,
  );

  const pool = options.pool;
  if (pool) {
    type PoolCounts = { total: number; idle: number; waiting: number };
    const poolGauge = (name: string, help: string, read: (p: PoolCounts) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(pool()));
        },
      });
    poolGauge(
      "db_pool_connections_in_use",
      "Pool connections checked out.",
      (p) => p.total - p.idle,
    );
    poolGauge("db_pool_connections_idle", "Pool connections open and idle.", (p) => p.idle);
    poolGauge(
      "db_pool_requests_waiting",
      "Queries waiting for a pool connection.",
      (p) => p.waiting,
    );
  }

  const metrics = {
    registry,
    grpcStarted: new Counter({
      name: "grpc_server_started_total",
      help: "Total number of RPCs started on the server.",
      labelNames: grpcLabels,
      registers,
    }),
    grpcHandled: new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...grpcLabels, "grpc_code"],
      registers,
    }),
    grpcMsgReceived: new Counter({
      name: "grpc_server_msg_received_total",
      help: "Total number of RPC stream messages received on the server.",
      labelNames: grpcLabels,
      registers,
    }),
    grpcMsgSent: new Counter({
      name: "grpc_server_msg_sent_total",
      help: "Total number of gRPC stream messages sent by the server.",
      labelNames: grpcLabels,
      registers,
    }),
    grpcHandlingSeconds: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames: grpcLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ingestRecords: new Counter({
      name: "ingest_records_total",
      help: "Sales records ingested, by outcome (accepted, duplicate, rejected).",
      labelNames: ["tenant", "source", "outcome"],
      registers,
    }),
    ingestDedup: new Counter({
      name: "ingest_dedup_total",
      help: "Sales records answered as duplicates of an earlier write with the same key.",
      labelNames: ["tenant", "source"],
      registers,
    }),
    ingestBatchSize: new Histogram({
      name: "ingest_batch_size",
      help: "Rows per INSERT statement, by path (unary group commit or stream batch).",
      labelNames: ["path"],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    ingestStreamSeconds: new Histogram({
      name: "ingest_stream_duration_seconds",
      help: "Duration of IngestStream calls, by gRPC code.",
      labelNames: ["code"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
      registers,
    }),
    dbQuerySeconds: new Histogram({
      name: "db_query_duration_seconds",
      help: "Duration of database queries, by operation and result (ok, error).",
      labelNames: ["operation", "result"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    healthStatus: new Gauge({
      name: "health_status",
      help: "1 when the grpc.health.v1 service name is SERVING, else 0.",
      labelNames: ["service"],
      registers,
      // A cluster serves a name only while every worker does (src/cluster/cluster-health.ts).
      aggregator: "min",
    }),
    breakerState: new Gauge({
      name: "circuit_breaker_state",
      help: "State of a circuit breaker: 0 closed, 1 half-open, 2 open.",
      labelNames: ["name"],
      registers,
      // The worst worker's breaker: one open breaker means some calls fail fast.
      aggregator: "max",
    }),
    breakerTransitions: new Counter({
      name: "circuit_breaker_transitions_total",
      help: "Circuit breaker state changes, by the state entered.",
      labelNames: ["name", "to"],
      registers,
    }),
    rateLimited: new Counter({
      name: "rate_limited_total",
      help: "Calls and stream batches refused or ended because the tenant was over its record budget.",
      labelNames: ["tenant"],
      registers,
    }),
    authFailures: new Counter({
      name: "auth_failures_total",
      help: "Failed authentications, by reason: missing, malformed, unknown (no active key), throttled (the address spent its budget of failed lookups; no query was run).",
      labelNames: ["reason"],
      registers,
    }),
    reconciliations: new Counter({
      name: "reconciliations_total",
      help: "Reconcile calls answered, by result: match (every figure agrees) or mismatch (a difference found).",
      labelNames: ["tenant", "result"],
      registers,
    }),
    reconcileDifferences: new Counter({
      name: "reconcile_differences_total",
      help: "Figures (counts, sums, key digests) that differed between a gateway and the server, summed over Reconcile calls.",
      labelNames: ["tenant"],
      registers,
    }),
    rateLimiterBackend: new Gauge({
      collect() {
        const current = options.limiterBackend?.();
        for (const backend of ["redis", "insurance", "memory"]) {
          this.set({ backend }, backend === current ? 1 : 0);
        }
      },
      name: "rate_limiter_backend",
      help: "1 for the backend rate limits are enforced with now: redis (shared), insurance (Redis down, per replica) or memory (no Redis configured).",
      labelNames: ["backend"],
      registers,
      // Stays 0 or 1 across a cluster: 1 when any worker enforces with that backend.
      aggregator: "max",
    }),
  };
  for (const path of WRITE_PATHS) metrics.ingestBatchSize.zero({ path });

  const capTenant = createLabelCap(options.maxTenantLabels);
  const capSource = createLabelCap(options.maxSourceLabels);
  // Bounded by the caps: at most (tenants + 1) × (sources + 1) pairs.
  const seenTenants = new Set<string>();
  const seenPairs = new Set<string>();
  const tenantLabel = (tenantId: string): string => {
    const tenant = capTenant(tenantId);
    if (!seenTenants.has(tenant)) {
      seenTenants.add(tenant);
      metrics.rateLimited.inc({ tenant }, 0);
    }
    return tenant;
  };
  const ingestLabels = (tenantId: string, sourceName: string) => {
    const labels = { tenant: tenantLabel(tenantId), source: capSource(sourceName) };
    const pair = JSON.stringify([labels.tenant, labels.source]);
    if (!seenPairs.has(pair)) {
      seenPairs.add(pair);
      for (const outcome of RECORD_OUTCOMES) metrics.ingestRecords.inc({ ...labels, outcome }, 0);
      metrics.ingestDedup.inc(labels, 0);
    }
    return labels;
  };
  const seenReconciling = new Set<string>();
  const reconcileLabel = (tenantId: string): string => {
    const tenant = tenantLabel(tenantId);
    if (!seenReconciling.has(tenant)) {
      seenReconciling.add(tenant);
      for (const result of ["match", "mismatch"])
        metrics.reconciliations.inc({ tenant, result }, 0);
      metrics.reconcileDifferences.inc({ tenant }, 0);
    }
    return tenant;
  };
  return { ...metrics, tenantLabel, ingestLabels, reconcileLabel };
}

/**
 * prom-client's defaults export three gauges named `*_total`, a suffix Prometheus reserves for
 * counters, so `promtool check metrics` rejects them. Their per-type siblings
 * (`nodejs_active_handles{type}` and so on) carry the same information and stay.
 */
function dropMisnamedDefaults(registry: Registry): void {
  for (const name of [
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
  ]) {
    registry.removeSingleMetric(name);
  }
}

/**
 * A bounded operation name for a SQL statement: the verb and the table, e.g. "insert_sales".
 * The service runs a fixed set of statements, so this never grows with traffic. A statement
 * that opens with a CTE (`with r as (…) insert into sales …`) is named by its main verb, and a
 * set-returning function (`from json_to_recordset(…)`) is not a table.
 */
export function queryOperation(sqlText: string): string {
  const text = sqlText.trimStart().toLowerCase();
  let verb = /^(\w+)/.exec(text)?.[1] ?? "query";
  if (verb === "with") verb = /\b(insert|update|delete)\b/.exec(text)?.[1] ?? "select";
  const table =
    /\b(?:insert\s+into|update|delete\s+from)\s+"?(\w+)"?/.exec(text)?.[1] ??
    /\bjoin\s+"?(\w+)"?\s+\w+\s+on\b/.exec(text)?.[1] ??
    firstTableAfterFrom(text);
  if (/^select 1\s*$/.test(text)) return "ping";
  return table ? `${verb}_${table}` : verb;
}

// The first `from <name>` that names a table: not a function's (`from json_to_recordset(`), nor
// the field a date function takes (`extract(epoch from accepted_at)`).
function firstTableAfterFrom(text: string): string | undefined {
  for (const m of text.matchAll(/\bfrom\s+"?(\w+)"?(?!\w|"?\s*\()/g)) {
    if (!/extract\s*\(\s*\w+\s*$/.test(text.slice(0, m.index))) return m[1];
  }
  return undefined;
}
