/** How the primary paces replacing workers that die. */
export interface RestartPolicy {
  /** Delay before the first replacement in a streak. */
  readonly initialMs: number;
  /** The delay never grows past this. */
  readonly maxMs: number;
  /** A worker that lived this long ends the streak: its death is not part of a crash loop. */
  readonly stableMs: number;
}

/** Replaces a worker at once-ish; a crash loop settles at one start every 30 s. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialMs: 100,
  maxMs: 30_000,
  stableMs: 10_000,
};

/**
 * The delay before replacing a worker that lived `livedMs`, given `streak`, the replacements in a
 * row so far whose workers died young. Doubling from `initialMs` up to `maxMs`: a worker that
 * crashes on start (a bad certificate, a full disk) is retried, but does not spin a core forking.
 * Returns the delay and the streak to carry to the next death.
 */
export function restartDelay(
  policy: RestartPolicy,
  streak: number,
  livedMs: number,
): { delayMs: number; streak: number } {
  const next = livedMs >= policy.stableMs ? 0 : streak + 1;
  if (next === 0) return { delayMs: policy.initialMs, streak: 0 };
  return { delayMs: Math.min(policy.maxMs, policy.initialMs * 2 ** next), streak: next };
}
