import { randomBytes } from "node:crypto";
import type { ConfigName, Placeholders } from "../ghz-config.js";
import type { LoadRun } from "../load-runner.js";

/**
 * Channels (TCP connections) for a load with `concurrency` callers: four, as a gateway's channel
 * pool might hold, or one per caller below that. Four also keeps 200 callers under the server's
 * 100 concurrent streams per connection.
 */
export function connectionsFor(concurrency: number): number {
  return Math.max(1, Math.min(4, concurrency));
}

/** A short random id that makes a scenario's idempotency keys its own. */
export function newRunId(): string {
  return randomBytes(4).toString("hex");
}

/** `a / b`, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/** A count with thousands separators, as the table prints it. */
export function n(count: number): string {
  return count.toLocaleString("en");
}

/** "1 caller", "75 callers". */
export function callers(count: number): string {
  return count === 1 ? "1 caller" : `${n(count)} callers`;
}

/** A unary load: `total` calls from `concurrency` callers over `connectionsFor(concurrency)` channels. */
export function unaryLoad(
  host: string,
  placeholders: Placeholders,
  concurrency: number,
  total: number,
  config: ConfigName = "unary",
): LoadRun {
  return {
    config,
    placeholders,
    host,
    concurrency,
    total,
    connections: connectionsFor(concurrency),
  };
}

/** One client stream of `records` messages on one connection. */
export function streamLoad(
  host: string,
  placeholders: Placeholders,
  records: number,
  config: ConfigName = "stream",
): LoadRun {
  return { ...unaryLoad(host, placeholders, 1, 1, config), streamCallCount: records };
}

/** A batch stream's load and the records it actually sends (messages × records per message). */
export interface BatchStreamLoad {
  readonly run: LoadRun;
  readonly records: number;
}

/**
 * One IngestBatchStream of about `records` records on one connection, `recordsPerMessage` to a
 * message (fewer when the whole stream is shorter): ghz counts messages, so the stream is
 * ⌈records / recordsPerMessage⌉ messages and `records` is what those carry, rounded up to whole
 * messages, which is what the figures must be divided by.
 */
export function batchStreamLoad(
  host: string,
  placeholders: Placeholders,
  records: number,
  recordsPerMessage: number,
  config: ConfigName = "stream-batch",
): BatchStreamLoad {
  const perMessage = Math.min(recordsPerMessage, records);
  const messages = Math.ceil(records / perMessage);
  return {
    run: { ...streamLoad(host, placeholders, messages, config), recordsPerMessage: perMessage },
    records: messages * perMessage,
  };
}
