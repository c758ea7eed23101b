import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { failure } from "../support/calls.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { healthProbe } from "../support/health-client.js";
import { sampleSum, sampleValue } from "../support/prometheus-text.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";
import { startPostgresProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { eventually } from "../support/wait.js";

let proxy: TcpProxy;
let server: TestServer;

beforeAll(async () => {
  proxy = await startPostgresProxy();
  server = await startTestServer({
    database: "postgres",
    viaPort: proxy.port,
    config: {
      // Timeouts sized for a loaded machine: a healthy query must never take the breaker's
      // timeout, and the open state must outlast the assertions made while it is open.
      breaker: {
        timeoutMs: 2_000,
        errorThresholdPercent: 25,
        volumeThreshold: 4,
        resetTimeoutMs: 5_000,
        windowMs: 1_000,
      },
      health: { dbPingIntervalMs: 200, dbPingTimeoutMs: 1_000, maxEventLoopDelayMs: 5_000 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await proxy?.close();
});

const scrape = async () => {
  const port = (await server.app.listening).metricsPort;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
};
const metric = async (name: string, labels: Record<string, string>) =>
  sampleValue(await scrape(), name, labels);
/** Database round trips so far (each query the driver sent, whatever its result). */
const queries = async () => sampleSum(await scrape(), "db_query_duration_seconds_count");

describe("database circuit breaker", () => {
  it("is not tripped by client mistakes or duplicates", async () => {
    const client = server.client();
    const sale = makeSale();
    for (let i = 0; i < 20; i++) {
      await expect(
        client.ingest({ sale: makeSale({ currency: "XX" }) }, auth(server.keys.acme)),
      ).rejects.toThrow();
      await client.ingest({ sale }, auth(server.keys.acme, "breaker-dup"));
    }
    expect(await metric("circuit_breaker_state", { name: "database" })).toBe(0);
    const probe = healthProbe(server.port);
    try {
      expect(await probe.check("readiness")).toBe("SERVING");
    } finally {
      probe.close();
    }
  });

  it("opens when the database goes away, fails fast with a retry delay, and closes by itself", async () => {
    const client = server.client();
    const probe = healthProbe(server.port);
    onTestFinished(() => probe.close());
    proxy.cut();
    try {
      // Failures open the breaker once they outweigh the window's successes; how many that takes
      // depends on what the window still holds, so fail calls until it is open (bounded).
      const errors: ConnectError[] = [];
      const open = async () => (await metric("circuit_breaker_state", { name: "database" })) === 2;
      while (!(await open())) {
        if (errors.length >= 100) throw new Error("breaker did not open after 100 failed calls");
        errors.push(
          await failure(
            client.ingest(
              { sale: makeSale() },
              auth(server.keys.acme, `breaker-open-${errors.length}`),
            ),
          ),
        );
      }
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e.code === Code.Unavailable)).toBe(true);
      expect(await probe.check("readiness")).toBe("NOT_SERVING");
      expect(await probe.check("liveness")).toBe("SERVING");

      // Open: an answer without a database round trip, with the time until the next trial.
      const before = await queries();
      const fast = await failure(
        client.ingest({ sale: makeSale() }, auth(server.keys.acme, "breaker-fast")),
      );
      expect(await queries()).toBe(before);
      expect(await metric("circuit_breaker_state", { name: "database" })).toBe(2);
      expect(fast.code).toBe(Code.Unavailable);
      const delay = fast.findDetails(RetryInfoSchema)[0]?.retryDelay;
      const delayMs = Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
      expect(delayMs).toBeGreaterThan(0);
      expect(delayMs).toBeLessThanOrEqual(5_000);
      expect(fast.metadata.get("grpc-retry-pushback-ms")).toBe(String(Math.round(delayMs)));
    } finally {
      proxy.heal();
    }

    // No client traffic is needed: the health ping is the trial call that closes it.
    expect(await eventually(() => probe.check("readiness"), "SERVING", 30_000)).toBe("SERVING");
    expect(await metric("circuit_breaker_state", { name: "database" })).toBe(0);
    expect(
      await metric("circuit_breaker_transitions_total", { name: "database", to: "open" }),
    ).toBeGreaterThanOrEqual(1);
    const res = await client.ingest({ sale: makeSale() }, auth(server.keys.acme, "breaker-after"));
    expect(res.outcome).toBe(Outcome.ACCEPTED);
  });

  it("a write that times out is not written twice: the retry replays it as a duplicate", async () => {
    const client = server.client();
    const sale = makeSale();
    // Latency well past the breaker's timeout, each way, so the INSERT outlives the call.
    proxy.setLatency(3_000);
    let timedOut: ConnectError;
    try {
      timedOut = await failure(client.ingest({ sale }, auth(server.keys.acme, "breaker-slow")));
    } finally {
      proxy.setLatency(0);
    }
    expect(timedOut.code).toBe(Code.Unavailable);
    expect(timedOut.rawMessage).toContain("may still complete");
    // The slow INSERT completes behind the timeout; the client's retry must find it.
    const rows = async () =>
      Number(
        (
          await query<{ n: string }>(
            server.databaseUrl as string,
            "select count(*) as n from sales where tenant_id = 'acme' and idempotency_key = 'breaker-slow'",
          )
        )[0]?.n,
      );
    expect(await eventually(rows, 1, 30_000)).toBe(1);
    const probe = healthProbe(server.port);
    try {
      await eventually(() => probe.check("readiness"), "SERVING", 30_000);
    } finally {
      probe.close();
    }
    const retry = await client.ingest({ sale }, auth(server.keys.acme, "breaker-slow"));
    expect(retry.outcome).toBe(Outcome.DUPLICATE);
    expect(await rows()).toBe(1);
  });
});
