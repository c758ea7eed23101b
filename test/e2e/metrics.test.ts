import { spawnSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApp } from "../../src/app.js";
import { makeSale } from "../support/fixtures.js";
import { testLogger } from "../support/log-lines.js";
import { sampleValue } from "../support/prometheus-text.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";

let server: TestServer;
let metricsUrl: string;

beforeAll(async () => {
  // One tenant label allowed: the second tenant must collapse into "other".
  server = await startTestServer({
    database: "postgres",
    config: {
      metrics: {
        host: "127.0.0.1",
        port: 0,
        maxTenantLabels: 1,
        maxSourceLabels: 100,
        commit: "abc123",
      },
    },
  });
  metricsUrl = `http://127.0.0.1:${(await server.app.listening).metricsPort}/metrics`;
});
afterAll(async () => {
  await server?.stop();
});

const scrape = async () => {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
};
const unary = {
  grpc_service: "pos.ingest.v1.IngestService",
  grpc_method: "Ingest",
  grpc_type: "unary",
};
const stream = {
  grpc_service: "pos.ingest.v1.IngestService",
  grpc_method: "IngestStream",
  grpc_type: "client_stream",
};

/** Every method the server serves, as go-grpc-prometheus labels it. */
const SERVED_METHODS = [
  ["pos.ingest.v1.IngestService", "Ingest", "unary"],
  ["pos.ingest.v1.IngestService", "IngestStream", "client_stream"],
  ["pos.ingest.v1.IngestService", "IngestBatchStream", "client_stream"],
  ["pos.ingest.v1.ReconcileService", "Reconcile", "unary"],
  ["pos.ingest.v1.ReconcileService", "DigestKeys", "unary"],
  ["pos.ingest.v1.ReconcileService", "ListKeys", "unary"],
  ["grpc.health.v1.Health", "Check", "unary"],
  ["grpc.health.v1.Health", "Watch", "server_stream"],
  ["grpc.health.v1.Health", "List", "unary"],
  ["grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", "bidi_stream"],
  ["grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", "bidi_stream"],
].map(([grpc_service, grpc_method, grpc_type]) => ({
  grpc_service: grpc_service as string,
  grpc_method: grpc_method as string,
  grpc_type: grpc_type as string,
}));
const CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

describe("/metrics", () => {
  it("has every method's call counters at 0 before its first call, every code included", async () => {
    // A series born at its first event hides that event from rate() and increase(): the README's
    // error-rate query read 0 while calls were failing. go-grpc-prometheus pre-creates them.
    const before = await scrape();
    for (const method of SERVED_METHODS) {
      for (const name of [
        "grpc_server_started_total",
        "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total",
        "grpc_server_handling_seconds_count",
      ]) {
        expect(sampleValue(before, name, method), `${name} ${method.grpc_method}`).toBeDefined();
      }
      for (const grpc_code of CODES) {
        expect(
          sampleValue(before, "grpc_server_handled_total", { ...method, grpc_code }),
          `${method.grpc_service}/${method.grpc_method} ${grpc_code}`,
        ).toBeDefined();
      }
    }
    // Exactly these: nothing counted for a method the server does not serve.
    const handled = before.split("\n").filter((l) => l.startsWith("grpc_server_handled_total{"));
    expect(handled).toHaveLength(SERVED_METHODS.length * CODES.length);
    expect(sampleValue(before, "grpc_server_started_total", unary)).toBe(0);
    expect(
      sampleValue(before, "grpc_server_handled_total", { ...unary, grpc_code: "INVALID_ARGUMENT" }),
    ).toBe(0);
    for (const path of ["unary", "stream"]) {
      expect(sampleValue(before, "ingest_batch_size_count", { path }), path).toBe(0);
    }
  });

  it("counts calls, messages, records and queries, before and after traffic", async () => {
    const before = await scrape();
    expect(sampleValue(before, "grpc_server_started_total", unary)).toBe(0);
    expect(sampleValue(before, "health_status", { service: "readiness" })).toBe(1);
    expect(
      sampleValue(before, "build_info", {
        version: "0.1.0",
        commit: "abc123",
        node: process.version,
      }),
    ).toBe(1);

    const client = server.client();
    const acme = server.keys.acme;
    for (let i = 0; i < 5; i++) await client.ingest({ sale: makeSale() }, auth(acme, `m-${i}`));
    const first = makeSale();
    await client.ingest({ sale: first }, auth(acme, "m-dup"));
    await client.ingest({ sale: first }, auth(acme, "m-dup"));
    await client.ingest({ sale: first }, auth(acme, "m-dup"));
    await expect(
      client.ingest({ sale: makeSale({ currency: "??" }) }, auth(acme)),
    ).rejects.toThrow();
    async function* records() {
      for (let i = 0; i < 100; i++) {
        yield create(IngestRequestSchema, {
          sale: i % 50 === 7 ? makeSale({ locationId: "" }) : makeSale(),
        });
      }
    }
    await client.ingestStream(records(), auth(server.keys.globex, "m-stream"));

    const after = await scrape();
    expect(sampleValue(after, "grpc_server_started_total", unary)).toBe(9);
    expect(sampleValue(after, "grpc_server_handled_total", { ...unary, grpc_code: "OK" })).toBe(8);
    expect(
      sampleValue(after, "grpc_server_handled_total", { ...unary, grpc_code: "INVALID_ARGUMENT" }),
    ).toBe(1);
    expect(sampleValue(after, "grpc_server_msg_received_total", unary)).toBe(9);
    expect(sampleValue(after, "grpc_server_msg_sent_total", unary)).toBe(8);
    expect(sampleValue(after, "grpc_server_handling_seconds_count", unary)).toBe(9);
    expect(sampleValue(after, "grpc_server_started_total", stream)).toBe(1);
    expect(sampleValue(after, "grpc_server_handled_total", { ...stream, grpc_code: "OK" })).toBe(1);
    expect(sampleValue(after, "grpc_server_msg_received_total", stream)).toBe(100);

    const acmeLabels = { tenant: "acme", source: "acme-pos" };
    expect(sampleValue(after, "ingest_records_total", { ...acmeLabels, outcome: "accepted" })).toBe(
      6,
    );
    expect(
      sampleValue(after, "ingest_records_total", { ...acmeLabels, outcome: "duplicate" }),
    ).toBe(2);
    expect(sampleValue(after, "ingest_records_total", { ...acmeLabels, outcome: "rejected" })).toBe(
      1,
    );
    expect(sampleValue(after, "ingest_dedup_total", acmeLabels)).toBe(2);
    // The second tenant is over the label budget: it is counted, under "other".
    const other = { tenant: "other", source: "acme-pos" };
    expect(sampleValue(after, "ingest_records_total", { ...other, outcome: "accepted" })).toBe(98);
    expect(sampleValue(after, "ingest_records_total", { ...other, outcome: "rejected" })).toBe(2);
    expect(after).not.toContain('tenant="globex"');

    expect(
      sampleValue(after, "ingest_batch_size_count", { path: "stream" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, "ingest_batch_size_sum", { path: "stream" })).toBe(98);
    expect(sampleValue(after, "ingest_batch_size_sum", { path: "unary" })).toBe(8);
    // The same code names as grpc_code, not numbers.
    expect(sampleValue(after, "ingest_stream_duration_seconds_count", { code: "OK" })).toBe(1);
    expect(after).not.toMatch(/ingest_stream_duration_seconds_count\{code="\d+"\}/);
    expect(
      sampleValue(after, "db_query_duration_seconds_count", {
        operation: "insert_sales",
        result: "ok",
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sampleValue(after, "db_query_duration_seconds_count", {
        operation: "select_sales",
        result: "ok",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(after, "db_query_duration_seconds_count", {
        operation: "select_api_keys",
        result: "ok",
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(sampleValue(after, "db_pool_connections_idle")).toBeGreaterThanOrEqual(0);
    expect(sampleValue(after, "db_pool_requests_waiting")).toBe(0);
    expect(sampleValue(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
    // No key or id ever becomes a label.
    expect(after).not.toContain("m-dup");
    expect(after).not.toContain(acme);
  });

  it("has a tenant's counters for every outcome at 0 from the first record it sends", async () => {
    const source = "fresh-pos";
    await server
      .client()
      .ingest({ sale: makeSale({ source }) }, auth(server.keys.acme, "m-fresh-source"));
    const text = await scrape();
    const labels = { tenant: "acme", source };
    expect(sampleValue(text, "ingest_records_total", { ...labels, outcome: "accepted" })).toBe(1);
    expect(sampleValue(text, "ingest_records_total", { ...labels, outcome: "duplicate" })).toBe(0);
    expect(sampleValue(text, "ingest_records_total", { ...labels, outcome: "rejected" })).toBe(0);
    // Without it a new tenant's dedup ratio is absent or NaN instead of 0.
    expect(sampleValue(text, "ingest_dedup_total", labels)).toBe(0);
    expect(sampleValue(text, "rate_limited_total", { tenant: "acme" })).toBe(0);
    // The tenant over the label budget shares "other", pre-created the same way.
    expect(sampleValue(text, "ingest_dedup_total", { tenant: "other", source: "acme-pos" })).toBe(
      0,
    );
    expect(sampleValue(text, "rate_limited_total", { tenant: "other" })).toBe(0);
  });

  it("passes promtool check metrics", async () => {
    const promtool = spawnSync("promtool", ["--version"]);
    // .ci/run installs Debian's prometheus package, which ships promtool; fail loudly without it.
    expect(promtool.error, "promtool not on PATH: apt-get install prometheus").toBeUndefined();
    const result = spawnSync("promtool", ["check", "metrics"], {
      input: await scrape(),
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("serves 404 elsewhere and 405 for writes", async () => {
    const base = metricsUrl.replace("/metrics", "");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(metricsUrl, { method: "POST" })).status).toBe(405);
  });
});

describe("two apps in one process", () => {
  it("keep separate registries: no duplicate registration, no shared counts", async () => {
    const a = createApp(testConfig(), testLogger());
    const b = createApp(testConfig(), testLogger());
    try {
      expect(a.metrics.registry).not.toBe(b.metrics.registry);
      a.metrics.ingestDedup.inc({ tenant: "t", source: "s" }, 3);
      const count = async (app: typeof a) => (await app.metrics.ingestDedup.get()).values.length;
      expect(await count(a)).toBe(1);
      expect(await count(b)).toBe(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
