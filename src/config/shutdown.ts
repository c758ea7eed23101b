import { z } from "zod";
import {
  ABORT_ANSWER_MS,
  CLOSE_RESERVE_MS,
  shutdownWorstCaseMs,
} from "../lifecycle/shutdown-budget.js";
import { integer, positiveInt } from "./env-values.js";
import { breakerVariables } from "./resilience.js";

/**
 * The drain's timings, held to SHUTDOWN_BUDGET_MS: the platform kills the process that long
 * after SIGTERM (Kubernetes' terminationGracePeriodSeconds less any preStop sleep, `docker stop
 * -t`), so timings whose worst case is longer would let it kill a drain that was still within its
 * own deadlines.
 */
export const shutdownSection = z
  .object({
    SHUTDOWN_GRACE_MS: integer(0, 600_000).default(5000),
    SHUTDOWN_DEADLINE_MS: integer(0, 600_000).default(20_000),
    SHUTDOWN_BUDGET_MS: positiveInt(3_600_000).default(40_000),
    BREAKER_TIMEOUT_MS: breakerVariables.shape.BREAKER_TIMEOUT_MS,
  })
  // In the transform, not a refinement: zod runs an object's refinements even when one of its
  // variables failed to parse, and the sum would be made of the raw text ("26000soon1000 ms").
  .transform((e, ctx) => {
    const worstCaseMs = shutdownWorstCaseMs({
      graceMs: e.SHUTDOWN_GRACE_MS,
      deadlineMs: e.SHUTDOWN_DEADLINE_MS,
      breakerTimeoutMs: e.BREAKER_TIMEOUT_MS,
    });
    if (worstCaseMs > e.SHUTDOWN_BUDGET_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["SHUTDOWN_BUDGET_MS"],
        message:
          `shutdown can take ${worstCaseMs} ms ` +
          `(SHUTDOWN_GRACE_MS ${e.SHUTDOWN_GRACE_MS} + SHUTDOWN_DEADLINE_MS ${e.SHUTDOWN_DEADLINE_MS} ` +
          `+ ${ABORT_ANSWER_MS} to answer aborted streams + BREAKER_TIMEOUT_MS ${e.BREAKER_TIMEOUT_MS} for a write ` +
          `in flight + ${CLOSE_RESERVE_MS} to close), more than the budget of ${e.SHUTDOWN_BUDGET_MS} ms: lower ` +
          "one of them, or raise SHUTDOWN_BUDGET_MS together with the platform's kill timeout",
      });
      return z.NEVER;
    }
    return {
      /** How long to keep serving after readiness flips, so load balancers stop sending. */
      graceMs: e.SHUTDOWN_GRACE_MS,
      /** How long in-flight calls may take to finish after new calls stop being accepted. */
      deadlineMs: e.SHUTDOWN_DEADLINE_MS,
    };
  });
