import { z } from "zod";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../contract/wire.js";
import { port, positiveInt } from "./env-values.js";

/** The gRPC port and the largest message it takes. */
export const grpcSection = z
  .object({
    GRPC_HOST: z.string().min(1).default("0.0.0.0"),
    GRPC_PORT: port.default(50051),
    MAX_MESSAGE_BYTES: positiveInt(64 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
  })
  .transform((e) => ({
    host: e.GRPC_HOST,
    port: e.GRPC_PORT,
    maxMessageBytes: e.MAX_MESSAGE_BYTES,
  }));

/** TLS on the gRPC port: off unless a certificate and key are given; mutual with a client CA. */
export const tlsSection = z
  .object({
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
    TLS_RELOAD_INTERVAL_MS: positiveInt(86_400_000).default(60_000),
  })
  // In the transform, not a refinement: zod runs an object's refinements even when one of its
  // variables failed to parse, which would add a second, confusing line for an empty variable.
  .transform((e, ctx) => {
    if (!e.TLS_CERT_FILE && !e.TLS_KEY_FILE) {
      if (!e.TLS_CLIENT_CA_FILE) return undefined;
      ctx.addIssue({
        code: "custom",
        path: ["TLS_CLIENT_CA_FILE"],
        message: "needs TLS_CERT_FILE and TLS_KEY_FILE",
      });
      return z.NEVER;
    }
    if (!e.TLS_CERT_FILE || !e.TLS_KEY_FILE) {
      // One issue naming both: either may be the one missing.
      ctx.addIssue({
        code: "custom",
        path: ["TLS_CERT_FILE, TLS_KEY_FILE"],
        message: "set both or neither",
      });
      return z.NEVER;
    }
    return {
      certFile: e.TLS_CERT_FILE,
      keyFile: e.TLS_KEY_FILE,
      /** When set, clients must present a certificate signed by this CA (mutual TLS). */
      clientCaFile: e.TLS_CLIENT_CA_FILE,
      reloadIntervalMs: e.TLS_RELOAD_INTERVAL_MS,
    };
  });

/** Bounds on client streams: records, duration, silence, and how many may be open at once. */
export const streamsSection = z
  .object({
    MAX_STREAM_RECORDS: positiveInt(1_000_000_000).default(10_000_000),
    MAX_STREAM_DURATION_MS: positiveInt(86_400_000).default(3_600_000),
    STREAM_IDLE_TIMEOUT_MS: positiveInt(86_400_000).default(30_000),
    MAX_STREAMS_PER_CONNECTION: positiveInt(10_000).default(100),
    MAX_STREAMS_PER_TENANT: positiveInt(100_000).default(32),
  })
  .transform((e) => ({
    maxRecords: e.MAX_STREAM_RECORDS,
    maxDurationMs: e.MAX_STREAM_DURATION_MS,
    idleTimeoutMs: e.STREAM_IDLE_TIMEOUT_MS,
    maxPerConnection: e.MAX_STREAMS_PER_CONNECTION,
    maxPerTenant: e.MAX_STREAMS_PER_TENANT,
  }));

/** HTTP/2 connections: keepalive pings and the age at which a connection is asked to go. */
export const connectionsSection = z
  .object({
    KEEPALIVE_TIME_MS: positiveInt(86_400_000).default(60_000),
    KEEPALIVE_TIMEOUT_MS: positiveInt(86_400_000).default(20_000),
    MAX_CONNECTION_AGE_MS: positiveInt(864_000_000).default(1_800_000),
  })
  .transform((e) => ({
    keepaliveTimeMs: e.KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: e.KEEPALIVE_TIMEOUT_MS,
    maxAgeMs: e.MAX_CONNECTION_AGE_MS,
  }));
