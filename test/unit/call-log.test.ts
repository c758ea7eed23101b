import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { DependencyUnavailableError, NotReadyError, ValidationError } from "../../src/errors.js";
import { logCallEnd } from "../../src/ingest/call-log.js";
import { type LogLine, testLogger } from "../support/log-lines.js";

function logged(code: status, err?: unknown): LogLine {
  const lines: LogLine[] = [];
  logCallEnd(testLogger({ onLine: (l) => lines.push(l) }), code, { method: "Ingest" }, err);
  expect(lines).toHaveLength(1);
  return lines[0] as LogLine;
}

describe("the line a call ends with", () => {
  it("our own bug: error, with the stack", () => {
    const line = logged(status.INTERNAL, new TypeError("x is undefined"));
    expect(line).toMatchObject({ level: 50, code: "INTERNAL", msg: "call failed" });
    expect((line.err as { stack: string }).stack).toMatch(/TypeError: x is undefined\n\s+at /);
  });

  it("a dependency down: warn, the cause's message, no stack", () => {
    const cause = new Error("connect ECONNREFUSED 127.0.0.1:5432");
    const line = logged(
      status.UNAVAILABLE,
      new DependencyUnavailableError("storage unavailable", 1000, { cause }),
    );
    expect(line).toEqual(
      expect.objectContaining({
        level: 40,
        code: "UNAVAILABLE",
        reason: "storage unavailable",
        cause: "connect ECONNREFUSED 127.0.0.1:5432",
      }),
    );
    expect(JSON.stringify(line)).not.toMatch(/stack|\n\s+at /);
  });

  it("the client's mistake, a cancel, the server starting, success: info", () => {
    expect(logged(status.INVALID_ARGUMENT, new ValidationError([]))).toMatchObject({ level: 30 });
    expect(logged(status.CANCELLED, new Error("gone"))).toMatchObject({
      level: 30,
      code: "CANCELLED",
      reason: "gone",
    });
    expect(logged(status.UNAVAILABLE, new NotReadyError())).toMatchObject({ level: 30 });
    expect(logged(status.OK)).toMatchObject({ level: 30, code: "OK", msg: "call" });
  });
});
