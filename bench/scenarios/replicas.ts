import type { BenchContext } from "../context.js";
import { createFreshDatabase } from "../fresh-database.js";
import { unaryMeasurement } from "../measurement.js";
import type { GhzReport } from "../report.js";
import { type ServerUnderTest, startServer } from "../server-process.js";
import { exactlyOnce, storedKeys } from "./deduplication.js";
import { callers, connectionsFor, n, newRunId } from "./shared.js";

/**
 * Two server processes on one fresh database and one Redis (shared rate-limit budget), each sent
 * the same `keys` keys at the same time by its own load generator: every key must be stored once
 * across both, with one ACCEPTED and one DUPLICATE per key. Then two more with a real limit:
 * the tenant's budget must be one across them.
 */
export async function replicasShareDedup(ctx: BenchContext): Promise<void> {
  const replicas = ctx.options.replicas;
  if (!replicas) return;
  const db = await createFreshDatabase(ctx.options.databaseUrl);
  const servers: ServerUnderTest[] = [];
  try {
    await startReplicas(ctx, db, servers);
    const runId = newRunId();
    ctx.progress(
      `replicas: 2 servers (${servers.map((s) => s.target).join(", ")}), ` +
        `${n(replicas.keys)} keys sent to both`,
    );
    const reports = await Promise.all(
      servers.map((server, i) =>
        ctx.load(
          `replica ${i + 1}`,
          {
            config: "unary-dedup",
            placeholders: { apiKey: db.token, runId, distinctKeys: replicas.keys },
            host: server.target,
            concurrency: replicas.concurrency,
            total: replicas.keys,
            connections: connectionsFor(replicas.concurrency),
          },
          [server.pid],
        ),
      ),
    );
    const combined = combine(reports);
    const verdict = exactlyOnce(
      combined,
      await storedKeys(db, runId),
      replicas.keys,
      2 * replicas.keys,
    );
    ctx.detail("replicas", verdict);
    const m = unaryMeasurement(combined);
    ctx.row({
      section: "service",
      name: `2 replicas, same ${n(replicas.keys)} keys to both, ${callers(replicas.concurrency)} each`,
      measurement: m,
      note: verdict.text,
    });
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await replicasShareLimits(ctx, db, servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

/** The tenant's limit in the shared-limit check: two paced loads offer three times as much. */
const LIMIT_PER_SECOND = 100;
const OFFERED_PER_REPLICA = 150;
const LIMIT_SECONDS = 4;

/**
 * Two replicas on one Redis with a real limit (100 records/s, no burst), each offered 150 calls/s
 * for 4 s. A shared budget accepts about 100/s in total; budgets kept per replica would accept
 * about 200/s. Passes when the accepted rate is within [0.5, 1.3] × the limit and everything else
 * was RESOURCE_EXHAUSTED.
 */
async function replicasShareLimits(
  ctx: BenchContext,
  db: { url: string; token: string },
  servers: ServerUnderTest[],
): Promise<void> {
  await startReplicas(ctx, db, servers, {
    RATE_LIMIT_RECORDS_PER_SECOND: String(LIMIT_PER_SECOND),
    RATE_LIMIT_BURST: "0",
  });
  const runId = newRunId();
  ctx.progress(
    `replicas: shared limit ${LIMIT_PER_SECOND}/s, ${OFFERED_PER_REPLICA}/s offered to each of 2`,
  );
  const reports = await Promise.all(
    servers.map((server, i) =>
      ctx.load(`replica ${i + 1} over the shared limit`, {
        config: "unary",
        placeholders: { apiKey: db.token, runId },
        host: server.target,
        concurrency: 8,
        total: OFFERED_PER_REPLICA * LIMIT_SECONDS,
        connections: 1,
        rps: OFFERED_PER_REPLICA,
      }),
    ),
  );
  const combined = combine(reports);
  const accepted = combined.statusCodeDistribution.OK ?? 0;
  const limited = combined.statusCodeDistribution.ResourceExhausted ?? 0;
  const seconds = combined.total / 1e9;
  const rate = accepted / seconds;
  const holds =
    accepted + limited === combined.count &&
    rate <= 1.3 * LIMIT_PER_SECOND &&
    rate >= 0.5 * LIMIT_PER_SECOND;
  const text =
    `${Math.round(rate)}/s accepted of ${2 * OFFERED_PER_REPLICA}/s offered, ` +
    `${n(limited)} RESOURCE_EXHAUSTED: ` +
    (holds ? "the limit holds across replicas" : "LIMIT NOT SHARED OR CALLS FAILED");
  ctx.detail("replicas shared limit", {
    limitPerSecond: LIMIT_PER_SECOND,
    offeredPerSecond: 2 * OFFERED_PER_REPLICA,
    accepted,
    limited,
    seconds,
    holds,
    statusCodes: combined.statusCodeDistribution,
  });
  ctx.row({
    section: "service",
    name: `2 replicas, one tenant limited to ${LIMIT_PER_SECOND}/s via Redis`,
    note: text,
  });
}

function add(x: number | undefined, y: number | undefined): number | undefined {
  return x === undefined || y === undefined ? undefined : x + y;
}

/** Both replicas' reports as one: summed counts, the slower run's time, the worse latencies. */
function combine(reports: GhzReport[]): GhzReport {
  const [a, b] = reports as [GhzReport, GhzReport];
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const total = Math.max(a.total, b.total);
  return {
    ...a,
    count: a.count + b.count,
    total,
    rps: (a.count + b.count) / (total / 1e9),
    statusCodeDistribution: sum(a.statusCodeDistribution, b.statusCodeDistribution),
    errorDistribution: sum(a.errorDistribution, b.errorDistribution),
    latencyDistribution: (a.latencyDistribution ?? []).map((p, i) => ({
      percentage: p.percentage,
      latency: Math.max(p.latency, b.latencyDistribution?.[i]?.latency ?? 0),
    })),
    clientCpuSeconds: add(a.clientCpuSeconds, b.clientCpuSeconds),
    serverCpuSeconds: add(a.serverCpuSeconds, b.serverCpuSeconds),
    // One PostgreSQL server measured during both runs at once: either report has the total.
    postgresCpuSeconds: a.postgresCpuSeconds,
    outcomes:
      a.outcomes && b.outcomes
        ? {
            accepted: a.outcomes.accepted + b.outcomes.accepted,
            duplicate: a.outcomes.duplicate + b.outcomes.duplicate,
            rejected: a.outcomes.rejected + b.outcomes.rejected,
          }
        : undefined,
  };
}

/** Starts two servers on `db` and the bench's Redis, adding them to `servers` as they come up. */
async function startReplicas(
  ctx: BenchContext,
  db: { url: string },
  servers: ServerUnderTest[],
  env: Record<string, string> = {},
): Promise<void> {
  for (let i = 0; i < 2; i++) {
    servers.push(
      await startServer({ databaseUrl: db.url, redisUrl: ctx.options.redisUrl, nodeArgs: [], env }),
    );
  }
}
