import { afterAll } from "vitest";

/**
 * Servers a test file started and has not stopped. A file that leaves one running fails, named:
 * a leaked app holds its ports, pools and timers into the next file of the same worker, where it
 * shows up as a flaky port clash or a hang far from its cause.
 */
const running = new Map<object, string>();

/** Records a started server (or app) under a label; returns the function that forgets it. */
export function trackRunning(label: string): () => void {
  const token = {};
  running.set(token, label);
  return () => {
    running.delete(token);
  };
}

/** The labels of what is still running. */
export function stillRunning(): string[] {
  return [...running.values()];
}

/** Registered by the setup file: after a test file's own afterAll hooks have run. */
export function failOnLeaks(): void {
  afterAll(() => {
    const left = stillRunning();
    running.clear();
    if (left.length > 0) {
      throw new Error(
        `${left.length} server(s) still running after the file's tests: ${left.join(", ")} (stop every server the file starts, in afterAll or a finally)`,
      );
    }
  });
}
