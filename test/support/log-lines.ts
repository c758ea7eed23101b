import type { Logger } from "../../src/observability/logger.js";
import { createLogger } from "../../src/observability/logger.js";
import { parseStrictJson } from "./strict-json.js";

/** A parsed log line. */
export type LogLine = Record<string, unknown>;

// Test-support state, one per test file (vitest isolates files): the lines that broke the
// rule since the last check by the suite's hooks (log-setup.ts).
const violations: string[] = [];

/**
 * Parses one log line the way a strict log pipeline would: one JSON object per line, each key
 * once. A line that breaks that is recorded, and the suite's hooks fail the test that printed
 * it; the line is still returned (leniently parsed) when it can be, so the test itself carries
 * on and reports its own findings too.
 */
export function readLogLine(text: string, origin: string): LogLine | undefined {
  try {
    const value = parseStrictJson(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as LogLine;
    }
    violations.push(`${origin}: not a JSON object: ${text}`);
  } catch (err) {
    violations.push(`${origin}: ${(err as Error).message}: ${text}`);
  }
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return undefined;
  }
}

/**
 * The logger every in-process test server uses: the service's own logger at `level` (all levels
 * by default, so every line the code can print is checked), writing to a checker instead of
 * stdout. `onLine` sees each parsed line, for tests that assert on logs.
 */
export function testLogger(
  options: { level?: string; onLine?: (line: LogLine) => void } = {},
): Logger {
  return createLogger(options.level ?? "trace", {
    write(chunk: string) {
      for (const text of chunk.split("\n")) {
        if (text === "") continue;
        const line = readLogLine(text, "in-process server");
        if (line) options.onLine?.(line);
      }
    },
  });
}

/** The violations recorded since the last call, and forgets them. */
export function takeLogViolations(): string[] {
  return violations.splice(0);
}
