import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import {
  allStatuses,
  clusterStatuses,
  type HealthStatuses,
  workerHealthView,
} from "../../src/cluster/cluster-health.js";
import { DEFAULT_RESTART_POLICY, restartDelay } from "../../src/cluster/restart-backoff.js";
import { ConfigError, loadConfig, loadConfigSections } from "../../src/config/index.js";
import { createHealthModel } from "../../src/health/health-model.js";
import { createLogger } from "../../src/observability/logger.js";

const PG = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" };

function configMessage(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw`);
}

describe("WORKERS", () => {
  it("defaults to 1, the single process", () => {
    expect(loadConfig({}).cluster).toEqual({ workers: 1 });
  });

  it("takes a whole number, or auto for one per core", () => {
    expect(loadConfigSections(["cluster"], { ...PG, WORKERS: "3" }).cluster.workers).toBe(3);
    expect(loadConfigSections(["cluster"], { ...PG, WORKERS: "auto" }).cluster.workers).toBe(
      availableParallelism(),
    );
  });

  it.each(["-1", "1.5", "", "two", "AUTO"])("refuses %j, naming WORKERS and the form", (v) => {
    expect(configMessage({ ...PG, WORKERS: v })).toMatch(
      /\n {2}WORKERS: expected a whole number from 1 to 256, or auto$/,
    );
  });

  it.each([
    ["0", /\n {2}WORKERS: Too small: expected number to be >=1$/],
    ["257", /\n {2}WORKERS: Too big: expected number to be <=256$/],
  ])("refuses %j, naming WORKERS and the bound", (v, message) => {
    expect(configMessage({ ...PG, WORKERS: v })).toMatch(message);
  });

  it("refuses more than one worker on the embedded database, saying why", () => {
    expect(configMessage({ WORKERS: "2" })).toMatch(
      /WORKERS: 2 workers need DATABASE_URL: the embedded database \(PGlite\) is one process's data directory/,
    );
  });

  it("lets one worker use the embedded database", () => {
    expect(loadConfig({ WORKERS: "1" }).cluster.workers).toBe(1);
  });
});

const serving = allStatuses("SERVING");
const notReady: HealthStatuses = {
  ...serving,
  readiness: "NOT_SERVING",
  "": "NOT_SERVING",
  "pos.ingest.v1.IngestService": "NOT_SERVING",
  "pos.ingest.v1.ReconcileService": "NOT_SERVING",
};

describe("the cluster's health", () => {
  it("is SERVING when every live worker is", () => {
    expect(clusterStatuses([serving, serving], false)).toEqual(serving);
  });

  it("is NOT_SERVING for a name one worker is not serving, and only for that name", () => {
    expect(clusterStatuses([serving, notReady], false)).toEqual(notReady);
  });

  it("counts a worker that has not reported yet as NOT_SERVING, but alive", () => {
    expect(clusterStatuses([serving, undefined], false)).toEqual({
      ...allStatuses("NOT_SERVING"),
      liveness: "SERVING",
    });
  });

  it("is not alive when a reporting worker's event loop is stuck", () => {
    const stuck: HealthStatuses = { ...serving, liveness: "NOT_SERVING" };
    expect(clusterStatuses([serving, stuck], false).liveness).toBe("NOT_SERVING");
  });

  it("is NOT_SERVING with no workers, and everywhere during shutdown", () => {
    expect(clusterStatuses([], false)).toEqual(allStatuses("NOT_SERVING"));
    expect(clusterStatuses([serving, serving], true)).toEqual(allStatuses("NOT_SERVING"));
  });
});

describe("a worker's health view", () => {
  const startedModel = () => {
    const local = createHealthModel(createLogger("silent"));
    local.update({ started: true, databaseReachable: true });
    return local;
  };

  it("serves only once the cluster says so, and tells its listeners", () => {
    const local = startedModel();
    const { view, setCluster } = workerHealthView(local);
    const changes: string[] = [];
    view.onChange((name, status) => changes.push(`${name}=${status}`));
    expect(view.status("readiness")).toBe("NOT_SERVING");
    setCluster(serving);
    expect(view.status("readiness")).toBe("SERVING");
    expect(changes).toContain("readiness=SERVING");
    setCluster(notReady);
    expect(view.status("readiness")).toBe("NOT_SERVING");
    expect(view.status("liveness")).toBe("SERVING");
  });

  it("stops serving on its own shutdown without waiting for the primary", () => {
    const local = startedModel();
    const { view, setCluster } = workerHealthView(local);
    setCluster(serving);
    local.update({ shuttingDown: true });
    expect(view.status("readiness")).toBe("NOT_SERVING");
  });
});

describe("the restart backoff", () => {
  const p = DEFAULT_RESTART_POLICY;

  it("replaces a worker that lived long at once, and starts no streak", () => {
    expect(restartDelay(p, 0, p.stableMs)).toEqual({ delayMs: p.initialMs, streak: 0 });
    expect(restartDelay(p, 7, p.stableMs + 1)).toEqual({ delayMs: p.initialMs, streak: 0 });
  });

  it("doubles for each worker in a row that died young, up to the cap", () => {
    const delays: number[] = [];
    let streak = 0;
    for (let i = 0; i < 12; i++) {
      const next = restartDelay(p, streak, 50);
      delays.push(next.delayMs);
      streak = next.streak;
    }
    expect(delays.slice(0, 4)).toEqual([200, 400, 800, 1600]);
    expect(delays.at(-1)).toBe(p.maxMs);
    expect(Math.max(...delays)).toBe(p.maxMs);
  });
});
