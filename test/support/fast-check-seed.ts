import fc from "fast-check";

/**
 * The seed FC_SEED pins, if set: a 32-bit integer, as fast-check prints it in a failure
 * (`{ seed: -119842304, path: "…" }`). A malformed value fails the run rather than being ignored,
 * so a reproduction never silently runs on a random seed.
 */
export function fastCheckSeed(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.FC_SEED;
  if (raw === undefined || raw === "") return undefined;
  const seed = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(seed) || seed !== (seed | 0)) {
    throw new Error(`FC_SEED must be a 32-bit integer (as fast-check prints it), got "${raw}"`);
  }
  return seed;
}

/**
 * Every property test of the run starts from FC_SEED when it is set (`FC_SEED=-119842304 npx
 * vitest run test/e2e/fuzz.test.ts -t "mutated"`); otherwise from a random seed, which fast-check
 * prints in the failure message of any property that fails.
 */
export function configureFastCheck(env: NodeJS.ProcessEnv): void {
  const seed = fastCheckSeed(env);
  if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
