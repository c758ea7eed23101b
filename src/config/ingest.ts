import { z } from "zod";
import { DEFAULT_MAX_LINE_ITEMS } from "../contract/wire.js";
import { integer, positiveInt } from "./env-values.js";

/** What a sale may be: lines per sale, and how far ahead of the server's clock it may be dated. */
export const limitsSection = z
  .object({
    MAX_LINE_ITEMS: positiveInt(100_000).default(DEFAULT_MAX_LINE_ITEMS),
    MAX_FUTURE_SKEW_SECONDS: integer(0, 31_536_000).default(300),
  })
  .transform((e) => ({
    maxLineItems: e.MAX_LINE_ITEMS,
    maxFutureSkewSeconds: e.MAX_FUTURE_SKEW_SECONDS,
  }));

/** How records are grouped into database writes. */
export const batchingSection = z
  .object({
    STREAM_BATCH_SIZE: positiveInt(10_000).default(500),
    UNARY_BATCH_SIZE: positiveInt(10_000).default(256),
    UNARY_MAX_CONCURRENT_WRITES: positiveInt(100).default(4),
  })
  .transform((e) => ({
    streamBatchSize: e.STREAM_BATCH_SIZE,
    unaryBatchSize: e.UNARY_BATCH_SIZE,
    unaryMaxConcurrentWrites: e.UNARY_MAX_CONCURRENT_WRITES,
  }));
