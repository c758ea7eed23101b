import { describe, expect, it } from "vitest";
import {
  type CapacityTarget,
  type MeasuredCosts,
  planCapacity,
} from "../../bench/capacity-plan.js";

// Round figures in the range the bench measures, so every expected value below is worked out by
// hand in the comment next to it.
const costs: MeasuredCosts = {
  serverUsPerCall: 200,
  serverUsPerRecord: 40,
  postgresUsPerCall: 100,
  postgresUsPerRecord: 25,
};

// The defaults of `npm run bench:capacity`.
const defaults: CapacityTarget = {
  stores: 10_000,
  salesPerStoreDay: 1_000,
  peakFactor: 10,
  backlog: 50_000_000,
  backlogHours: 24,
  headroom: 0.6,
  coresPerReplica: 1,
  coresPerWorker: 4,
  minReplicas: 3,
  tenants: 1,
  tenantLimit: 2_000,
  poolMax: 10,
};

describe("planCapacity", () => {
  it("turns CPU µs per operation into operations per core", () => {
    const plan = planCapacity(costs, defaults);
    expect(plan.callsPerServerCore).toBe(5_000); // 1e6 / 200
    expect(plan.recordsPerServerCore).toBe(25_000); // 1e6 / 40
    expect(plan.callsPerPostgresCore).toBe(10_000); // 1e6 / 100
    expect(plan.recordsPerPostgresCore).toBe(40_000); // 1e6 / 25
  });

  it("plans the default target: 10,000 stores × 1,000 sales, 10× peak, 50 M backlog in 24 h", () => {
    const plan = planCapacity(costs, defaults);
    expect(plan.averageRate).toBeCloseTo(115.741, 3); // 1e7 / 86,400
    expect(plan.peakRate).toBeCloseTo(1_157.407, 3); // × 10
    // 1,157.4 × 200 µs = 0.231 cores; / (1 × 0.6) = 0.386 → 1
    expect(plan.peakReplicas).toBe(1);
    // 1,157.4 × 100 µs = 0.116 cores; / 0.6 = 0.193 → 1
    expect(plan.peakPostgresCores).toBe(1);
    expect(plan.backlogRate).toBeCloseTo(578.704, 3); // 5e7 / 86,400
    expect(plan.backlogReplicas).toBe(1); // 578.7 × 40 µs = 0.023 cores
    expect(plan.backlogPostgresCores).toBe(1); // 578.7 × 25 µs = 0.014 cores
    expect(plan.combinedReplicas).toBe(1); // (0.231 + 0.023) / 0.6 = 0.42
    expect(plan.replicas).toBe(3); // the availability floor wins
    expect(plan.combinedPostgresCores).toBe(1); // (0.116 + 0.014) / 0.6 = 0.22
    expect(plan.citusWorkers).toBe(1); // 1 / 4
    expect(plan.perTenantRate).toBeCloseTo(1_736.111, 3); // 1,157.4 + 578.7, one tenant
    expect(plan.postgresConnections).toBe(40); // (3 + 1) × 10
  });

  it("plans a large target where every figure rounds up", () => {
    const plan = planCapacity(costs, {
      ...defaults,
      stores: 100_000,
      salesPerStoreDay: 2_000,
      peakFactor: 12,
      backlog: 500_000_000,
      backlogHours: 10,
      headroom: 0.5,
      coresPerWorker: 2,
      tenants: 4,
    });
    expect(plan.peakRate).toBeCloseTo(27_777.778, 3); // 2e8 / 86,400 × 12
    expect(plan.peakReplicas).toBe(12); // 27,777.8 × 200 µs = 5.556 cores; / 0.5 = 11.1
    expect(plan.peakPostgresCores).toBe(6); // × 100 µs = 2.778; / 0.5 = 5.56
    expect(plan.backlogRate).toBeCloseTo(13_888.889, 3); // 5e8 / 36,000
    expect(plan.backlogReplicas).toBe(2); // × 40 µs = 0.556; / 0.5 = 1.11
    expect(plan.backlogPostgresCores).toBe(1); // × 25 µs = 0.347; / 0.5 = 0.69
    expect(plan.combinedReplicas).toBe(13); // (5.556 + 0.556) / 0.5 = 12.2
    expect(plan.replicas).toBe(13);
    expect(plan.combinedPostgresCores).toBe(7); // (2.778 + 0.347) / 0.5 = 6.25
    expect(plan.citusWorkers).toBe(4); // 7 / 2 = 3.5
    expect(plan.perTenantRate).toBeCloseTo(10_416.667, 3); // 41,666.7 / 4
    expect(plan.postgresConnections).toBe(140); // (13 + 1) × 10
    expect(plan.lines.join("\n")).toContain("OVER");
  });

  it("does not round floating-point noise up to a whole extra replica", () => {
    // 25,920 stores × 1,000 / 86,400 × 10 = 3,000 calls/s; × 1,400 µs = 4.2 cores; / 0.6 is
    // 7.000000000000001 in binary floating point, and exactly 7 in fact.
    const plan = planCapacity(
      { ...costs, serverUsPerCall: 1_400 },
      { ...defaults, stores: 25_920, minReplicas: 1 },
    );
    expect(plan.peakRate).toBe(3_000);
    expect(plan.peakReplicas).toBe(7);
  });

  it("shows each step of the arithmetic", () => {
    const text = planCapacity(costs, defaults).lines.join("\n");
    expect(text).toContain("average  = 10,000 stores × 1,000 sales / 86,400 s = 115.7 calls/s");
    expect(text).toContain("peak     = 115.7 × 10 = 1,157 calls/s");
    expect(text).toContain(
      "replicas = ceil(1,157 × 200 µs / 1e6 / (1 core × 0.6)) = ceil(0.231 / 0.600) = 1",
    );
    expect(text).toContain("rate     = 50,000,000 records / (24 h × 3,600 s) = 578.7 records/s");
    expect(text).toContain("run max(3 for availability, 1) = 3");
    expect(text).toContain("Citus    = ceil(1 / 4 cores per worker) = 1 worker");
    expect(text).toContain("against RATE_LIMIT_RECORDS_PER_SECOND = 2,000: within");
  });
});
