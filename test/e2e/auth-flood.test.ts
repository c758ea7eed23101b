import { spawn } from "node:child_process";
import { connect } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { mintApiKey } from "../../src/auth/api-key.js";
import { failure } from "../support/calls.js";
import { clientsClosedAtFileEnd } from "../support/connect-client.js";
import { makeSale } from "../support/fixtures.js";
import { sampleValue } from "../support/prometheus-text.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";

const connectClient = clientsClosedAtFileEnd();
// Small budget, so the flood is throttled at once; the refill rate bounds what it may still cost.
const BURST = 20;
const PER_MINUTE = 60;
// More random keys than the old shared cache held (10,000), so a FIFO shared with valid keys
// would have pushed the tenant's entry out by the end.
const FLOOD_CALLS = 12_000;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    database: "postgres",
    config: {
      auth: {
        ...testConfig().auth,
        // Longer than the test, so the tenant's only due lookup is the first: any other is
        // its entry having been pushed out.
        cacheTtlSeconds: 3600,
        peerFailureBurst: BURST,
        peerFailuresPerMinute: PER_MINUTE,
      },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** Key lookups the server has run so far, from its own query metrics. */
async function authQueries(): Promise<number> {
  const text = await server.app.metrics.registry.metrics();
  let n = 0;
  for (const result of ["ok", "error"]) {
    n +=
      sampleValue(text, "db_query_duration_seconds_count", {
        operation: "select_api_keys",
        result,
      }) ?? 0;
  }
  return n;
}

/** One tenant call with a fresh sale; its latency in milliseconds. */
async function tenantCall(label: string): Promise<number> {
  const started = performance.now();
  await server.client().ingest({ sale: makeSale() }, auth(server.keys.acme, label));
  return performance.now() - started;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

describe("a flood of unknown API keys", () => {
  it("is throttled without queries while a real tenant keeps its cache entry and its latency", async () => {
    await tenantCall("auth-flood-warm");
    const beforeQuiet = await authQueries();
    expect(beforeQuiet).toBe(1);
    const quiet: number[] = [];
    for (let i = 0; i < 100; i++) quiet.push(await tenantCall(`auth-flood-quiet-${i}`));
    // A cached valid key costs no lookup at all.
    expect(await authQueries()).toBe(beforeQuiet);

    // The flood runs in a process of its own, on its own connection, from the same address as
    // the tenant (loopback): the NAT'd store whose misconfigured till floods while the others work.
    const body = toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale: makeSale() }));
    const floodStarted = performance.now();
    const flooder = spawn(
      process.execPath,
      [
        "test/support/flood.mjs",
        `127.0.0.1:${server.port}`,
        "random",
        Buffer.from(body).toString("base64"),
        "100",
        String(FLOOD_CALLS),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    // Nothing left running if an assertion below fails first.
    onTestFinished(() => {
      flooder.kill("SIGKILL");
    });
    let output = "";
    flooder.stdout?.on("data", (chunk) => {
      output += String(chunk);
    });
    let floodDone = false;
    const exited = new Promise<void>((resolve) =>
      flooder.once("exit", () => {
        floodDone = true;
        resolve();
      }),
    );
    const loaded: number[] = [];
    while (!floodDone) loaded.push(await tenantCall(`auth-flood-loaded-${loaded.length}`));
    await exited;
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    const flood = JSON.parse(output) as { calls: number; codes: Record<string, number> };
    const floodQueries = (await authQueries()) - beforeQuiet;

    // After the flood the tenant's entry is still there: its next call runs no lookup.
    const beforeAfter = await authQueries();
    await tenantCall("auth-flood-after");
    const tenantQueriesAfter = (await authQueries()) - beforeAfter;

    // Still over budget: an unknown key is refused without a lookup, with a retry delay. A token
    // refills every second, and on a loaded machine a second may have passed since the flood, so
    // a new key may still get its lookup: keep trying until the budget is spent again (bounded).
    let throttled = await failure(
      server.client().ingest({ sale: makeSale() }, auth(mintApiKey().token)),
    );
    for (let i = 0; throttled.code === Code.Unauthenticated && i < 50; i++) {
      throttled = await failure(
        server.client().ingest({ sale: makeSale() }, auth(mintApiKey().token)),
      );
    }
    const figures = {
      floodCalls: flood.calls,
      floodCodes: flood.codes,
      floodSeconds: Math.round(floodSeconds * 10) / 10,
      floodQueries,
      tenantQueriesAfter,
      tenantCallsDuringFlood: loaded.length,
      quietP50Ms: Math.round(percentile(quiet, 0.5) * 10) / 10,
      quietP99Ms: Math.round(percentile(quiet, 0.99) * 10) / 10,
      loadedP50Ms: Math.round(percentile(loaded, 0.5) * 10) / 10,
      loadedP99Ms: Math.round(percentile(loaded, 0.99) * 10) / 10,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);

    expect(flood.calls).toBe(FLOOD_CALLS);
    expect(tenantQueriesAfter).toBe(0);
    // The burst, plus what refilled while the flood ran, plus one token of rounding.
    const allowed = BURST + Math.ceil((floodSeconds * PER_MINUTE) / 60) + 1;
    expect(floodQueries).toBeLessThanOrEqual(allowed);
    const unauthenticated = flood.codes[String(Code.Unauthenticated)] ?? 0;
    const exhausted = flood.codes[String(Code.ResourceExhausted)] ?? 0;
    expect(unauthenticated).toBeGreaterThanOrEqual(BURST);
    expect(unauthenticated).toBeLessThanOrEqual(allowed);
    expect(unauthenticated + exhausted).toBe(FLOOD_CALLS);
    // Each lookup the flood got answered UNAUTHENTICATED; any other was the tenant's (its entry
    // evicted), and a RESOURCE_EXHAUSTED never ran one.
    expect(floodQueries - unauthenticated).toBe(0);

    expect(throttled.code).toBe(Code.ResourceExhausted);
    const delay = throttled.findDetails(RetryInfoSchema)[0]?.retryDelay;
    const delayMs = Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
    expect(delayMs).toBeGreaterThan(0);
    expect(delayMs).toBeLessThanOrEqual((60_000 / PER_MINUTE) * 1.01);
    expect(Number(throttled.metadata.get("grpc-retry-pushback-ms"))).toBeGreaterThan(0);
    expect(throttled.findDetails(ErrorInfoSchema)[0]?.reason).toBe("AUTH_THROTTLED");

    // Every tenant call succeeded (tenantCall throws otherwise); the bound is generous because
    // the server shares this process and two cores with the flood: the figures are the report.
    expect(loaded.length).toBeGreaterThan(0);
    expect(percentile(loaded, 0.99)).toBeLessThan(Math.max(20 * percentile(quiet, 0.99), 2_000));
    // Twelve thousand calls take a minute or more when the machine is shared.
  }, 300_000);

  it("answers a misconfigured till that repeats one unknown key UNAUTHENTICATED from the cache", async () => {
    const bad = mintApiKey().token;
    // The peer is over budget after the flood, but a key already known to be unknown costs
    // nothing to refuse, so the till learns its key is wrong rather than to wait.
    await eventuallyUnauthenticated(bad);
    const before = await authQueries();
    for (let i = 0; i < 20; i++) {
      const err = await failure(server.client().ingest({ sale: makeSale() }, auth(bad)));
      expect(err.code).toBe(Code.Unauthenticated);
    }
    expect(await authQueries()).toBe(before);
  });
});

/** Retries while the peer's budget refills (one token a second here) until the key is looked up. */
async function eventuallyUnauthenticated(key: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const err: ConnectError = await failure(
      server.client().ingest({ sale: makeSale() }, auth(key)),
    );
    if (err.code === Code.Unauthenticated) return;
    expect(err.code).toBe(Code.ResourceExhausted);
    if (Date.now() > deadline) throw new Error("the peer's budget never refilled");
    const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
    const ms = Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
    await new Promise((r) => setTimeout(r, Math.max(ms, 10)));
  }
}

describe("behind a trusted proxy", () => {
  let proxied: TestServer;
  beforeAll(async () => {
    proxied = await startTestServer({
      database: "postgres",
      config: {
        auth: {
          ...testConfig().auth,
          peerFailureBurst: 2,
          peerFailuresPerMinute: 1,
          trustedProxies: ["127.0.0.1"],
        },
      },
    });
  });
  afterAll(async () => {
    await proxied?.stop();
  });

  it("keeps the budget of the client x-forwarded-for names, not the proxy's", async () => {
    const from = (client: string) => ({
      headers: { ...auth(mintApiKey().token).headers, "x-forwarded-for": client },
    });
    const call = (client: string) =>
      failure(proxied.client().ingest({ sale: makeSale() }, from(client)));
    for (let i = 0; i < 2; i++)
      expect((await call("198.51.100.7")).code).toBe(Code.Unauthenticated);
    expect((await call("198.51.100.7")).code).toBe(Code.ResourceExhausted);
    // Another client behind the same proxy still gets its keys looked up.
    expect((await call("198.51.100.8")).code).toBe(Code.Unauthenticated);
  });
});

describe("each client's own address", () => {
  let budgeted: TestServer;
  beforeAll(async () => {
    budgeted = await startTestServer({
      database: "postgres",
      config: { auth: { ...testConfig().auth, peerFailureBurst: 2, peerFailuresPerMinute: 1 } },
    });
  });
  afterAll(async () => {
    await budgeted?.stop();
  });

  /** A client whose connections come from `localAddress` (any 127.x address is this machine). */
  function clientFrom(localAddress: string) {
    return connectClient(budgeted.baseUrl, {
      nodeOptions: {
        createConnection: () => connect({ host: "127.0.0.1", port: budgeted.port, localAddress }),
      },
    });
  }

  it("spends the budget of the address a connection comes from, not one shared by all", async () => {
    // Connections reach grpc-js through the frame guard, where grpc-js itself sees no address:
    // without the address carried to the calls, both clients below would share one budget.
    const call = (client: ReturnType<typeof clientFrom>) =>
      failure(client.ingest({ sale: makeSale() }, auth(mintApiKey().token)));
    const first = clientFrom("127.0.0.2");
    for (let i = 0; i < 2; i++) expect((await call(first)).code).toBe(Code.Unauthenticated);
    expect((await call(first)).code).toBe(Code.ResourceExhausted);
    expect((await call(clientFrom("127.0.0.3"))).code).toBe(Code.Unauthenticated);
  });
});
