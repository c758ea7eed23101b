import { describe, expect, it } from "vitest";
import { readLogLine, takeLogViolations, testLogger } from "../support/log-lines.js";
import { parseStrictJson } from "../support/strict-json.js";

describe("the tests' strict JSON parser", () => {
  it("parses what JSON.parse parses", () => {
    const text = '{"a":1,"b":[true,false,null,-1.5e3,"x\\n\\u00e9\\"",{}],"c":{"d":[]}, "e" : "" }';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    expect(parseStrictJson(' "s" ')).toBe("s");
  });

  it("rejects a key named twice, at any depth, however it is spelled", () => {
    expect(() => parseStrictJson('{"service":"pos-ingest","service":"startup"}')).toThrow(
      /duplicate key "service"/,
    );
    expect(() => parseStrictJson('{"err":{"code":1,"code":2}}')).toThrow(/duplicate key "code"/);
    expect(() => parseStrictJson('[{"a":1},{"a":2,"\\u0061":3}]')).toThrow(/duplicate key "a"/);
    // The same key in sibling objects is fine.
    expect(parseStrictJson('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("rejects what is not JSON", () => {
    for (const bad of ["", "{", '{"a":1,}', "[1,]", "{'a':1}", '{"a":1} x', "01", '"\t"']) {
      expect(() => parseStrictJson(bad), bad).toThrow(SyntaxError);
    }
  });

  it("records a log line with a duplicate key for the suite's hooks, and still returns it", () => {
    expect(readLogLine('{"msg":"a","msg":"b"}', "here")).toEqual({ msg: "b" });
    const lines: unknown[] = [];
    testLogger({ onLine: (l) => lines.push(l) }).info({ tenant: "t", tenant2: 1 }, "ok");
    expect(lines).toMatchObject([{ msg: "ok", tenant: "t", service: "pos-ingest" }]);
    expect(takeLogViolations()).toEqual([expect.stringMatching(/^here: duplicate key "msg"/)]);
  });
});
