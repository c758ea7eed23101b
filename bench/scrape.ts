import { Registry } from "prom-client";
import { createMetrics } from "../src/observability/metrics.js";

/**
 * Scrape cost with many tenants: fills the ingest series for `--tenants` tenants (3 outcomes,
 * 2 sources each) plus the usual gRPC and DB series, then times `registry.metrics()`, which is
 * what one /metrics request costs the server's event loop.
 */
const tenants = Number(process.argv.find((a) => a.startsWith("--tenants="))?.split("=")[1] ?? 1000);
const metrics = createMetrics(new Registry(), {
  maxTenantLabels: tenants,
  maxSourceLabels: 100,
  build: { version: "bench", commit: "bench" },
});
for (let t = 0; t < tenants; t++) {
  for (const source of ["pos-a", "pos-b"]) {
    const labels = metrics.ingestLabels(`tenant-${t}`, source);
    for (const outcome of ["accepted", "duplicate", "rejected"])
      metrics.ingestRecords.inc({ ...labels, outcome }, 5);
    metrics.ingestDedup.inc(labels);
  }
}
const grpc = {
  grpc_service: "pos.ingest.v1.IngestService",
  grpc_type: "unary",
  grpc_method: "Ingest",
};
metrics.grpcHandlingSeconds.observe(grpc, 0.01);
metrics.grpcHandled.inc({ ...grpc, grpc_code: "OK" });
metrics.dbQuerySeconds.observe({ operation: "insert_sales", result: "ok" }, 0.002);

const times: number[] = [];
let bytes = 0;
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  bytes = (await metrics.registry.metrics()).length;
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const result = {
  tenants,
  series: (await metrics.registry.getMetricsAsJSON()).reduce((n, m) => n + m.values.length, 0),
  bytes,
  p50Ms: Number(times[25]?.toFixed(2)),
  maxMs: Number(times.at(-1)?.toFixed(2)),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
