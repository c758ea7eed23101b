/**
 * The capacity plan's arithmetic (issue 14): from CPU measured per call and per record, how many
 * replicas, Postgres cores and Citus workers a target needs. Pure, so `npm run bench:capacity`
 * prints exactly what the unit test checks by hand; no figure here is measured.
 */

/** CPU microseconds per operation, as the capacity run measured them. */
export interface MeasuredCosts {
  /** Server process CPU per unary call. */
  readonly serverUsPerCall: number;
  /** Server process CPU per record of a long stream. */
  readonly serverUsPerRecord: number;
  /** PostgreSQL CPU per unary call. */
  readonly postgresUsPerCall: number;
  /** PostgreSQL CPU per streamed record. */
  readonly postgresUsPerRecord: number;
}

/** What to plan for; `npm run bench:capacity -- --help` lists the defaults. */
export interface CapacityTarget {
  readonly stores: number;
  readonly salesPerStoreDay: number;
  /** Peak rate ÷ the day's average rate (the evening rush). */
  readonly peakFactor: number;
  /** Sales to replay by stream, e.g. after an outage or for a new tenant's history. */
  readonly backlog: number;
  /** Hours the replay may take. */
  readonly backlogHours: number;
  /** Utilisation target: the share of each core the plan may use (0 < h ≤ 1). */
  readonly headroom: number;
  /** Cores one replica can use: Node runs the service on one main thread, so 1. */
  readonly coresPerReplica: number;
  /** Cores of one Citus worker node. */
  readonly coresPerWorker: number;
  /** Replicas kept for availability whatever the load (deploy/k8s runs 3, one may drain). */
  readonly minReplicas: number;
  /** Tenants the stores are spread over evenly (the rate limit is per tenant). */
  readonly tenants: number;
  /** RATE_LIMIT_RECORDS_PER_SECOND, the per-tenant sustained limit. */
  readonly tenantLimit: number;
  /** DB_POOL_MAX, connections per replica. */
  readonly poolMax: number;
}

/** The plan: every figure it derived, and the lines that show how. */
export interface CapacityPlan {
  readonly callsPerServerCore: number;
  readonly recordsPerServerCore: number;
  readonly callsPerPostgresCore: number;
  readonly recordsPerPostgresCore: number;
  /** Sales per second over the day. */
  readonly averageRate: number;
  readonly peakRate: number;
  readonly peakReplicas: number;
  readonly peakPostgresCores: number;
  /** Records per second the replay needs to finish in time. */
  readonly backlogRate: number;
  readonly backlogReplicas: number;
  readonly backlogPostgresCores: number;
  /** The replay runs for `backlogHours`, so through an evening peak when it is a day long. */
  readonly combinedReplicas: number;
  readonly combinedPostgresCores: number;
  /** max(minReplicas, combinedReplicas). */
  readonly replicas: number;
  readonly citusWorkers: number;
  /** One tenant's records/s at peak with the replay on top. */
  readonly perTenantRate: number;
  readonly postgresConnections: number;
  readonly lines: readonly string[];
}

const SECONDS_PER_DAY = 86_400;

/**
 * Rounds up a count of replicas, cores or workers. Products of decimals carry binary noise
 * (0.1 × 3 / 0.3 is 1.0000000000000002), which must not cost a whole extra machine.
 */
function ceilCount(value: number): number {
  return Math.max(0, Math.ceil(value - 1e-9));
}

/** A rate or count: thousands separators, one decimal below 1,000. */
export function fmt(value: number): string {
  const digits = Math.abs(value) < 1_000 ? 1 : 0;
  return value.toLocaleString("en", { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/** Cores: three decimals, so a small load still shows. */
function cores(value: number): string {
  return value.toFixed(3);
}

/** "1 core", "3 cores". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Turns measured costs and a target into the plan, each step written out as a line. */
export function planCapacity(costs: MeasuredCosts, t: CapacityTarget): CapacityPlan {
  const lines: string[] = [];
  const say = (line: string) => lines.push(line);
  const perCore = (us: number) => 1e6 / us;
  const callsPerServerCore = perCore(costs.serverUsPerCall);
  const recordsPerServerCore = perCore(costs.serverUsPerRecord);
  const callsPerPostgresCore = perCore(costs.postgresUsPerCall);
  const recordsPerPostgresCore = perCore(costs.postgresUsPerRecord);
  say("per core (1e6 ÷ CPU µs per operation):");
  say(
    `  server:   1e6 / ${fmt(costs.serverUsPerCall)} µs = ${fmt(callsPerServerCore)} calls/s; ` +
      `1e6 / ${fmt(costs.serverUsPerRecord)} µs = ${fmt(recordsPerServerCore)} records/s`,
  );
  say(
    `  Postgres: 1e6 / ${fmt(costs.postgresUsPerCall)} µs = ${fmt(callsPerPostgresCore)} calls/s; ` +
      `1e6 / ${fmt(costs.postgresUsPerRecord)} µs = ${fmt(recordsPerPostgresCore)} records/s`,
  );

  // Cores busy at `rate` operations/s costing `us` each, and what that needs at the headroom.
  const busy = (rate: number, us: number) => (rate * us) / 1e6;
  const replicasFor = (coresBusy: number) =>
    ceilCount(coresBusy / (t.coresPerReplica * t.headroom));
  const postgresFor = (coresBusy: number) => ceilCount(coresBusy / t.headroom);
  const budget = `${plural(t.coresPerReplica, "core")} × ${t.headroom}`;

  // The replicas and Postgres cores `rate` operations/s need at the headroom, each step printed.
  const perReplica = cores(t.coresPerReplica * t.headroom);
  const size = (rate: number, serverUs: number, postgresUs: number) => {
    const server = busy(rate, serverUs);
    const postgres = busy(rate, postgresUs);
    const replicas = replicasFor(server);
    const postgresCores = postgresFor(postgres);
    say(
      `  replicas = ceil(${fmt(rate)} × ${fmt(serverUs)} µs / 1e6 / (${budget})) = ` +
        `ceil(${cores(server)} / ${perReplica}) = ${replicas}`,
    );
    say(
      `  Postgres = ceil(${fmt(rate)} × ${fmt(postgresUs)} µs / 1e6 / ${t.headroom}) = ` +
        `ceil(${cores(postgres)} / ${t.headroom}) = ${plural(postgresCores, "core")}`,
    );
    return { server, postgres, replicas, postgresCores };
  };

  const averageRate = (t.stores * t.salesPerStoreDay) / SECONDS_PER_DAY;
  const peakRate = averageRate * t.peakFactor;
  say("");
  say("live sales (unary calls):");
  say(
    `  average  = ${fmt(t.stores)} stores × ${fmt(t.salesPerStoreDay)} sales / 86,400 s = ` +
      `${fmt(averageRate)} calls/s`,
  );
  say(`  peak     = ${fmt(averageRate)} × ${t.peakFactor} = ${fmt(peakRate)} calls/s`);
  const peak = size(peakRate, costs.serverUsPerCall, costs.postgresUsPerCall);

  const backlogRate = t.backlog / (t.backlogHours * 3600);
  say("");
  say("backlog replay (streams):");
  say(
    `  rate     = ${fmt(t.backlog)} records / (${t.backlogHours} h × 3,600 s) = ` +
      `${fmt(backlogRate)} records/s`,
  );
  const backlog = size(backlogRate, costs.serverUsPerRecord, costs.postgresUsPerRecord);

  const combinedReplicas = replicasFor(peak.server + backlog.server);
  const combinedPostgresCores = postgresFor(peak.postgres + backlog.postgres);
  const replicas = Math.max(t.minReplicas, combinedReplicas);
  const citusWorkers = ceilCount(combinedPostgresCores / t.coresPerWorker);
  say("");
  say("peak and replay at once (a replay that runs through an evening):");
  say(
    `  replicas = ceil((${cores(peak.server)} + ${cores(backlog.server)}) / ${perReplica}) = ` +
      `${combinedReplicas}; ` +
      `run max(${t.minReplicas} for availability, ${combinedReplicas}) = ${replicas}`,
  );
  say(
    `  Postgres = ceil((${cores(peak.postgres)} + ${cores(backlog.postgres)}) / ${t.headroom}) = ` +
      `${plural(combinedPostgresCores, "core")} for ingest alone`,
  );
  say(
    `  Citus    = ceil(${combinedPostgresCores} / ${t.coresPerWorker} cores per worker) = ` +
      `${plural(citusWorkers, "worker")} (a worker's per-record cost taken ` +
      "as a plain PostgreSQL's; the coordinator's overhead is not measured here)",
  );

  const perTenantRate = (peakRate + backlogRate) / t.tenants;
  const postgresConnections = (replicas + 1) * t.poolMax;
  say("");
  say("limits to check:");
  say(
    `  per tenant = (${fmt(peakRate)} + ${fmt(backlogRate)}) / ${plural(t.tenants, "tenant")} = ` +
      `${fmt(perTenantRate)} records/s against RATE_LIMIT_RECORDS_PER_SECOND = ${fmt(t.tenantLimit)}: ` +
      (perTenantRate <= t.tenantLimit
        ? "within"
        : "OVER (raise it or set RATE_LIMIT_TENANT_OVERRIDES)"),
  );
  say(
    `  connections = (${replicas} replicas + 1 during a rollout) × DB_POOL_MAX ${t.poolMax} = ` +
      `${postgresConnections} (keep under max_connections or the pooler's limit)`,
  );
  return {
    callsPerServerCore,
    recordsPerServerCore,
    callsPerPostgresCore,
    recordsPerPostgresCore,
    averageRate,
    peakRate,
    peakReplicas: peak.replicas,
    peakPostgresCores: peak.postgresCores,
    backlogRate,
    backlogReplicas: backlog.replicas,
    backlogPostgresCores: backlog.postgresCores,
    combinedReplicas,
    combinedPostgresCores,
    replicas,
    citusWorkers,
    perTenantRate,
    postgresConnections,
    lines,
  };
}
