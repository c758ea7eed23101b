import { availableParallelism } from "node:os";
import { z } from "zod";
import { integer } from "./env-values.js";

/** The most server processes one machine runs; far above any core count, well below a fork bomb. */
const MAX_WORKERS = 256;

/**
 * WORKERS: how many server processes share the gRPC port (see src/cluster/). `1`, the default,
 * is the single process and nothing else; `auto` is one per core the process may use.
 *
 * DATABASE_URL is read here too, only to refuse several workers on the embedded database: PGlite
 * is one process's data directory (its lock lets one process in), so every worker but one would
 * fail to start and the cluster would restart them for ever.
 */
export const clusterSection = z
  .object({
    WORKERS: z
      .union([z.literal("auto"), integer(1, MAX_WORKERS)], {
        error: `expected a whole number from 1 to ${MAX_WORKERS}, or auto`,
      })
      .default(1),
    DATABASE_URL: z.string().optional(),
  })
  .transform((e, ctx) => {
    const workers =
      e.WORKERS === "auto" ? Math.min(MAX_WORKERS, availableParallelism()) : e.WORKERS;
    if (workers > 1 && !e.DATABASE_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["WORKERS"],
        message: `${workers} workers need DATABASE_URL: the embedded database (PGlite) is one process's data directory, which only one worker could open`,
      });
      return z.NEVER;
    }
    return { workers };
  });
