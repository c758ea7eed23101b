import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * Creates the service's structured JSON logger. Headers that carry secrets are redacted as a
 * second line of defence; the code never logs keys, sale contents or customer data in the first
 * place.
 *
 * Every line carries `level`, `time`, `msg` and `service` (bound here); a log call or child logger
 * must not pass those names again, since pino writes a repeated key twice and strict log
 * pipelines (Elasticsearch) reject such a line. The tests hold every line to that.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "pos-ingest" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["authorization", "*.authorization", "apiKey", "*.apiKey"], remove: true },
    },
    destination,
  );
}
