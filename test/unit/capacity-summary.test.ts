import { describe, expect, it } from "vitest";
import { costsFrom, median, summarise } from "../../bench/capacity-summary.js";
import type { Measurement } from "../../bench/measurement.js";
import type { CapacityFigure, CapacityRound } from "../../bench/scenarios/capacity-rounds.js";

function figure(
  serverCpuUs: number,
  postgresCpuUs: number,
  databaseCpuUs?: number,
): CapacityFigure {
  const measurement: Measurement = {
    rate: 1_000,
    unit: "calls/s",
    p50Ms: 1,
    p95Ms: 2,
    p99Ms: 3,
    errors: 0,
    seconds: 10,
    serverCpuUs,
    clientCpuUs: 100,
    postgresCpuUs,
  };
  return { measurement, loadAverage: 1, ...(databaseCpuUs === undefined ? {} : { databaseCpuUs }) };
}

function round(unary: number, paced: number, stream: number): CapacityRound {
  return {
    bareUnary: figure(100, 0),
    unary: figure(unary, 80, 60),
    paced: figure(paced, 600, 450),
    bareStream: figure(15, 0),
    stream: figure(stream, 25, 20),
  };
}

describe("median", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([undefined, 5])).toBe(5);
    expect(median([])).toBeUndefined();
  });
});

describe("costsFrom", () => {
  it("plans a call at the dearer of the saturated and paced medians, Postgres from the bench database", () => {
    // Server µs per call: saturated 200, 220, 180 → 200; paced 700, 650, 720 → 700.
    const summary = summarise([round(200, 700, 30), round(220, 650, 34), round(180, 720, 32)]);
    const { costs } = costsFrom(summary);
    expect(costs).toEqual({
      serverUsPerCall: 700,
      serverUsPerRecord: 32,
      postgresUsPerCall: 450, // the bench database's backends, not the machine-wide 600
      postgresUsPerRecord: 20,
    });
  });

  it("falls back to the machine-wide Postgres figure, and says so", () => {
    const r = round(200, 700, 30);
    const blind = { ...r, paced: figure(700, 600), stream: figure(30, 25), unary: figure(200, 80) };
    const { costs, basis } = costsFrom(summarise([blind]));
    expect(costs.postgresUsPerCall).toBe(600);
    expect(costs.postgresUsPerRecord).toBe(25);
    expect(basis.join(" ")).toContain("every postgres process");
  });
});
