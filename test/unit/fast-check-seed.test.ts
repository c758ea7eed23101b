import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { configureFastCheck, fastCheckSeed } from "../support/fast-check-seed.js";

describe("fast-check seeds", () => {
  const before = fc.readConfigureGlobal();
  afterEach(() => fc.configureGlobal(before));

  it("a failing property names its seed, and FC_SEED replays that very run", () => {
    const failing = fc.property(fc.integer(), (n) => n < 1_000);
    const message = (() => {
      try {
        fc.assert(failing, { numRuns: 1_000 });
      } catch (err) {
        return String((err as Error).message);
      }
      return "";
    })();
    const seed = Number(/seed: (-?\d+)/.exec(message)?.[1]);
    const counterexample = Number(/Counterexample: \[(-?\d+)\]/.exec(message)?.[1]);
    expect(Number.isInteger(seed) && Number.isInteger(counterexample), message).toBe(true);

    configureFastCheck({ FC_SEED: String(seed) });
    const replayed = fc.check(failing, { numRuns: 1_000 });
    expect(replayed.seed).toBe(seed);
    expect(replayed.counterexample).toEqual([counterexample]);
  });

  it("reads FC_SEED as a 32-bit integer and refuses anything else", () => {
    expect(fastCheckSeed({})).toBeUndefined();
    expect(fastCheckSeed({ FC_SEED: "" })).toBeUndefined();
    expect(fastCheckSeed({ FC_SEED: "-119842304" })).toBe(-119842304);
    expect(fastCheckSeed({ FC_SEED: "42" })).toBe(42);
    for (const bad of ["abc", "1.5", "4294967296", "0x10", "1e3"]) {
      expect(() => fastCheckSeed({ FC_SEED: bad }), bad).toThrow(/FC_SEED/);
    }
  });
});
