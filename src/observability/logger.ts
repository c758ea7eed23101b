import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * Creates the service's structured JSON logger. Headers that carry secrets are redacted as a
 * second line of defence; the code never logs keys, sale contents or customer data in the first
 * place.
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
