import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IngestBatchStreamRequestSchema,
  IngestRequestSchema,
  Outcome,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { failure } from "../support/calls.js";
import { makeSale } from "../support/fixtures.js";
import {
  type PrometheusServer,
  type PromSample,
  scrapeAfter,
  startPrometheus,
} from "../support/prometheus-server.js";
import { sampleValue } from "../support/prometheus-text.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

/**
 * The README's example PromQL, evaluated by a real Prometheus scraping the real server. Each query
 * is read out of README.md, so the text a reader copies is the text tested, and a query added to
 * the README fails this test until it has an expectation below.
 */
function readmeQueries(): Map<string, string> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = /```promql\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no promql block");
  const queries = new Map<string, string>();
  for (const chunk of block.split(/\n\s*\n/)) {
    const lines = chunk.split("\n").filter((l) => l.trim());
    const title = lines.find((l) => l.startsWith("#"))?.replace(/^#\s*/, "");
    const query = lines
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.trim())
      .join(" ");
    if (!title || !query) throw new Error(`README promql without a "# title" line: ${chunk}`);
    queries.set(title, query);
  }
  return queries;
}

// What the traffic below sends, per tenant. Each tenant's first record is an invalid one (before
// Prometheus's baseline scrape), so its series exist before the counted traffic starts.
const ACME = { unary: 20, unaryDuplicates: 5, stream: 30 };
const GLOBEX = { unary: 10, unaryDuplicates: 10, stream: 15 };
const BAD_KEY_UNARY = 7;
const BAD_KEY_STREAMS = 1;
const INVALID_UNARY = 2; // one per tenant, the warm-up

const unaryCalls =
  INVALID_UNARY +
  BAD_KEY_UNARY +
  ACME.unary +
  ACME.unaryDuplicates +
  GLOBEX.unary +
  GLOBEX.unaryDuplicates;
const accepted = ACME.unary + ACME.stream + GLOBEX.unary + GLOBEX.stream;

let server: TestServer;
let prometheus: PrometheusServer;
let metricsUrl: string;
/** The scrape after all traffic: every query is evaluated at it. */
let at: string;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  const { metricsPort } = await server.app.listening;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`);
  const startedAt = Date.now();
  // Prometheus holds the pre-created gRPC series at 0 before the first call.
  await scrapeAfter(prometheus, startedAt);

  const client = server.client();
  const tenants = [
    { key: server.keys.acme, source: "acme-pos", plan: ACME },
    { key: server.keys.globex, source: "globex-pos", plan: GLOBEX },
  ];
  for (const { key, source } of tenants) {
    const err = await failure(
      client.ingest({ sale: makeSale({ source, currency: "??" }) }, auth(key, `${source}-bad`)),
    );
    expect(err.code).toBe(Code.InvalidArgument);
  }
  // The baseline: each tenant's series are in Prometheus, accepted and duplicate still at 0.
  const baseline = await scrapeAfter(prometheus, Date.now());

  for (const { key, source, plan } of tenants) {
    const sales = Array.from({ length: plan.unary }, () => makeSale({ source }));
    // At once, so the group commit batches them.
    await Promise.all(sales.map((sale, i) => client.ingest({ sale }, auth(key, `${source}-${i}`))));
    for (let i = 0; i < plan.unaryDuplicates; i++) {
      const n = i % plan.unary;
      const answer = await client.ingest({ sale: sales[n] }, auth(key, `${source}-${n}`));
      expect(answer.outcome).toBe(Outcome.DUPLICATE);
    }
    async function* records() {
      for (let i = 0; i < plan.stream; i++) {
        yield create(IngestRequestSchema, { sale: makeSale({ source }) });
      }
    }
    const summary = await client.ingestStream(records(), auth(key, `${source}-stream`));
    expect(Number(summary.accepted)).toBe(plan.stream);
  }
  for (let i = 0; i < BAD_KEY_UNARY; i++) {
    const err = await failure(client.ingest({ sale: makeSale() }, auth("pik_nope_nope")));
    expect(err.code).toBe(Code.Unauthenticated);
  }
  for (let i = 0; i < BAD_KEY_STREAMS; i++) {
    async function* one() {
      yield create(IngestRequestSchema, { sale: makeSale() });
    }
    const err = await failure(client.ingestStream(one(), auth("pik_nope_nope", `s-${i}`)));
    expect(err.code).toBe(Code.Unauthenticated);
  }
  // And one batch stream, refused the same way: the query lists every method that was called.
  async function* batch() {
    yield create(IngestBatchStreamRequestSchema, {
      records: [create(IngestRequestSchema, { sale: makeSale() })],
    });
  }
  const refused = await failure(client.ingestBatchStream(batch(), auth("pik_nope_nope", "b-0")));
  expect(refused.code).toBe(Code.Unauthenticated);
  at = await scrapeAfter(prometheus, Date.now());
  // The README's shortest window, [1m], must reach back to the baseline, where every counted
  // series was 0: then rate() over it is exactly the traffic's increase over the window.
  expect(Number(at) - Number(baseline), "traffic took longer than the 1m window").toBeLessThan(58);
}, 240_000);

afterAll(async () => {
  await prometheus?.stop();
  await server?.stop();
});

/** The samples of `result` by the value of `label`. */
function byLabel(result: PromSample[], label: string): Record<string, number> {
  return Object.fromEntries(result.map((s) => [s.metric[label] ?? "", s.value]));
}

/**
 * The expected answer of each README query for the traffic above. Every series was 0 at a sample
 * inside each window and `at` is a scrape time, so rate() has nothing to extrapolate: it is the
 * increase over the window divided by its length, and ratios are ratios of counts.
 */
const EXPECTED: Record<string, (result: PromSample[], scrape: string) => void> = {
  "error rate of Ingest (share of calls not OK), per method": (result) => {
    expect(byLabel(result, "grpc_method")).toEqual({
      Ingest: expect.closeTo((INVALID_UNARY + BAD_KEY_UNARY) / unaryCalls, 9),
      IngestStream: expect.closeTo(BAD_KEY_STREAMS / (2 + BAD_KEY_STREAMS), 9),
      IngestBatchStream: 1,
    });
  },
  "p99 latency of unary Ingest": (result, scrape) => {
    // Prometheus interpolates inside the bucket holding the 99th percentile: find that bucket
    // from the server's own counts and check the answer lies in it.
    const buckets = [...scrape.matchAll(/^grpc_server_handling_seconds_bucket\{([^}]*)\} (\S+)/gm)]
      .filter((m) => m[1]?.includes('grpc_method="Ingest"'))
      .map((m) => ({
        le: Number(/le="([^"]+)"/.exec(m[1] ?? "")?.[1]?.replace("+Inf", "Infinity")),
        count: Number(m[2]),
      }))
      .sort((a, b) => a.le - b.le);
    const total = buckets.at(-1)?.count ?? 0;
    expect(total).toBe(unaryCalls);
    const rank = 0.99 * total;
    const i = buckets.findIndex((b) => b.count >= rank);
    const lower = i > 0 ? (buckets[i - 1]?.le ?? 0) : 0;
    const upper = buckets[i]?.le ?? Number.POSITIVE_INFINITY;
    expect(result).toHaveLength(1);
    const p99 = result[0]?.value ?? Number.NaN;
    expect(p99).toBeGreaterThanOrEqual(lower);
    expect(p99).toBeLessThanOrEqual(Number.isFinite(upper) ? upper : lower);
  },
  "dedup ratio: share of records that were retries, per tenant": (result) => {
    const ratio = (p: typeof ACME) =>
      // The warm-up's rejected record was already counted at the baseline.
      p.unaryDuplicates / (p.unary + p.unaryDuplicates + p.stream);
    expect(byLabel(result, "tenant")).toEqual({
      acme: expect.closeTo(ratio(ACME), 9),
      globex: expect.closeTo(ratio(GLOBEX), 9),
    });
  },
  "records stored per second": (result) => {
    expect(result).toHaveLength(1);
    expect(result[0]?.value).toBeCloseTo(accepted / 60, 9);
  },
  "average group-commit size of unary calls": (result, scrape) => {
    const rows = sampleValue(scrape, "ingest_batch_size_sum", { path: "unary" });
    const statements = sampleValue(scrape, "ingest_batch_size_count", { path: "unary" }) ?? 0;
    // Every valid unary record is a row of some INSERT, duplicates included.
    expect(rows).toBe(ACME.unary + ACME.unaryDuplicates + GLOBEX.unary + GLOBEX.unaryDuplicates);
    expect(statements).toBeGreaterThan(0);
    expect(result).toHaveLength(1);
    expect(result[0]?.value).toBeCloseTo((rows ?? 0) / statements, 9);
  },
};

describe("the README's PromQL against a real Prometheus", () => {
  it("has an expectation for every query in the README, and only those", () => {
    expect([...readmeQueries().keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [title, query] of readmeQueries()) {
    it(`${title}: ${query}`, async () => {
      const scrape = await (await fetch(metricsUrl)).text();
      const result = await prometheus.query(query, at);
      const check = EXPECTED[title];
      if (!check) throw new Error(`no expectation for the README query "${title}"`);
      check(result, scrape);
    });
  }
});
