import { describe, expect, it } from "vitest";
import { ConfigError, loadConfigSections } from "../../src/config/index.js";

const redisOf = (env: NodeJS.ProcessEnv) => loadConfigSections(["rateLimit"], env).rateLimit.redis;

/** The message of the ConfigError the rate-limit section throws for `env`. */
function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfigSections(["rateLimit"], env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("the Redis the rate limits use", () => {
  it("is none by default, one server by REDIS_URL", () => {
    expect(redisOf({})).toBeUndefined();
    expect(redisOf({ REDIS_URL: "rediss://u:p@cache:6380" })).toEqual({
      kind: "standalone",
      url: "rediss://u:p@cache:6380",
    });
  });

  it("is a Redis Cluster found from REDIS_CLUSTER_NODES seeds", () => {
    expect(
      redisOf({
        REDIS_CLUSTER_NODES: "redis-0:6379,10.0.0.7:7000,[fd00::1]:6379",
        REDIS_USERNAME: "ingest",
        REDIS_PASSWORD: "s3cret",
        REDIS_TLS: "true",
      }),
    ).toEqual({
      kind: "cluster",
      nodes: [
        { host: "redis-0", port: 6379 },
        { host: "10.0.0.7", port: 7000 },
        { host: "fd00::1", port: 6379 },
      ],
      username: "ingest",
      password: "s3cret",
      tls: true,
    });
    expect(redisOf({ REDIS_CLUSTER_NODES: "redis-0:6379" })).toEqual({
      kind: "cluster",
      nodes: [{ host: "redis-0", port: 6379 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
  });

  it("is the master REDIS_SENTINELS name as REDIS_SENTINEL_NAME", () => {
    expect(
      redisOf({
        REDIS_SENTINELS: "s-0:26379,s-1:26379",
        REDIS_SENTINEL_NAME: "pos",
        REDIS_SENTINEL_PASSWORD: "sp",
        REDIS_PASSWORD: "mp",
      }),
    ).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "s-0", port: 26379 },
        { host: "s-1", port: 26379 },
      ],
      name: "pos",
      username: undefined,
      password: "mp",
      sentinelPassword: "sp",
      tls: false,
    });
  });

  it("is one of the three: two set is an error naming both", () => {
    const message = errorOf({ REDIS_URL: "redis://cache:6379", REDIS_CLUSTER_NODES: "r:6379" });
    expect(message).toContain("REDIS_CLUSTER_NODES: set only one of");
    expect(message).toContain("both REDIS_URL and REDIS_CLUSTER_NODES are set");
    expect(
      errorOf({
        REDIS_CLUSTER_NODES: "r:6379",
        REDIS_SENTINELS: "s:26379",
        REDIS_SENTINEL_NAME: "m",
      }),
    ).toContain("both REDIS_CLUSTER_NODES and REDIS_SENTINELS are set");
  });

  it("names the variable of a malformed host list", () => {
    for (const bad of [
      "",
      "redis-0",
      "redis-0:",
      "r:0",
      "r:65536",
      "r:6379,",
      "r:6379, s:6379",
      "redis://r:6379",
    ]) {
      const message = errorOf({ REDIS_CLUSTER_NODES: bad });
      expect(message, bad).toContain("REDIS_CLUSTER_NODES: expected comma-separated host:port");
    }
    expect(errorOf({ REDIS_SENTINELS: "s", REDIS_SENTINEL_NAME: "m" })).toContain(
      "REDIS_SENTINELS: expected comma-separated host:port",
    );
  });

  it("refuses a variable that would be ignored", () => {
    expect(errorOf({ REDIS_SENTINELS: "s:26379" })).toContain(
      "REDIS_SENTINEL_NAME: required with REDIS_SENTINELS",
    );
    expect(errorOf({ REDIS_SENTINEL_NAME: "m" })).toContain(
      "REDIS_SENTINEL_NAME: only used with REDIS_SENTINELS",
    );
    expect(errorOf({ REDIS_CLUSTER_NODES: "r:1", REDIS_SENTINEL_PASSWORD: "p" })).toContain(
      "REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS",
    );
    expect(errorOf({ REDIS_URL: "redis://cache:6379", REDIS_PASSWORD: "p" })).toContain(
      "REDIS_PASSWORD: not used with REDIS_URL: put the credentials in the URL",
    );
    expect(errorOf({ REDIS_URL: "redis://cache:6379", REDIS_TLS: "yes" })).toContain(
      "REDIS_TLS: not used with REDIS_URL: use a rediss:// URL",
    );
    expect(errorOf({ REDIS_USERNAME: "u" })).toContain(
      "REDIS_USERNAME: only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS",
    );
    expect(errorOf({ REDIS_CLUSTER_NODES: "r:1", REDIS_TLS: "maybe" })).toContain("REDIS_TLS");
  });
});
