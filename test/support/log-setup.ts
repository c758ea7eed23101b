import { afterAll, afterEach } from "vitest";
import { failOnLeaks } from "./leaks.js";
import { takeLogViolations } from "./log-lines.js";

// Every log line a test's servers print is held to strict JSON (see log-lines.ts). Checked after
// each test, and once more after the file, for lines a child server printed while stopping.
function assertLogLinesStrict(): void {
  const violations = takeLogViolations();
  if (violations.length > 0) {
    throw new Error(`log lines that are not strict JSON:\n${violations.join("\n")}`);
  }
}

afterEach(assertLogLinesStrict);
afterAll(assertLogLinesStrict);
// Registered first, so run last (after hooks run in reverse): after the file's own afterAll.
failOnLeaks();
