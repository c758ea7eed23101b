/**
 * How long handlers get to answer after the shutdown deadline ends their streams, before the
 * transport is cut (gRPC's forceShutdown).
 */
export const ABORT_ANSWER_MS = 1_000;

/**
 * Kept for the steps after the last database write settled: stopping monitors, closing Redis,
 * the metrics server and the pools, and the process exiting.
 */
export const CLOSE_RESERVE_MS = 1_000;

/** The inputs of the worst case, as the config carries them. */
export interface ShutdownTimings {
  /** SHUTDOWN_GRACE_MS: readiness is off but the server keeps serving. */
  readonly graceMs: number;
  /** SHUTDOWN_DEADLINE_MS: in-flight calls may finish. */
  readonly deadlineMs: number;
  /** BREAKER_TIMEOUT_MS: the longest a guarded database call is awaited. */
  readonly breakerTimeoutMs: number;
}

/**
 * The longest `App.stop()` takes, from the signal to the process exiting: the grace period, the
 * deadline for calls in flight, the abort answer, one breaker-timed database write (a write that
 * started just before the transport was cut is awaited, since its client may retry against
 * another replica), and the close reserve. `stop()` ends its last phase when this much time has
 * passed since it began, so the sum is a bound, not an estimate; `loadConfig` refuses a
 * configuration whose sum exceeds SHUTDOWN_BUDGET_MS, the time the platform allows before it
 * kills the process.
 */
export function shutdownWorstCaseMs(t: ShutdownTimings): number {
  return t.graceMs + t.deadlineMs + ABORT_ANSWER_MS + t.breakerTimeoutMs + CLOSE_RESERVE_MS;
}
