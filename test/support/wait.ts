/**
 * Waiting in tests: on a condition, never on a clock. Budgets are for a loaded machine (the
 * suite must pass with every core busy), so a generous timeout hides no failure: a condition
 * that holds ends the wait at once.
 */

/** Polls `condition` until it holds; throws naming `what` once `timeoutMs` has passed. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string | (() => string); everyMs?: number } = {},
): Promise<void> {
  const { timeoutMs = 30_000, everyMs = 20 } = options;
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      const what = typeof options.what === "function" ? options.what() : options.what;
      throw new Error(`condition not met within ${timeoutMs} ms${what ? `: ${what}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls until `read` returns `expected` or `timeoutMs` passes; returns the last value read. */
export async function eventually<T>(
  read: () => Promise<T>,
  expected: T,
  timeoutMs = 5_000,
): Promise<T> {
  const until = performance.now() + timeoutMs;
  let value = await read();
  while (value !== expected && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}
