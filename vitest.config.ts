import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Budgets for a loaded machine (a PGlite start alone took over 60 s at load 20 on 2 cores);
    // tests assert conditions and counts, so a generous budget hides no failure.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Each file gets its own database, so files run in parallel; two workers match the two cores.
    maxWorkers: 2,
    // log-setup fails a test whose servers printed a log line with a repeated key; FC_SEED pins
    // the seed of every fast-check property (see README, Tests).
    setupFiles: ["test/support/log-setup.ts", "test/support/setup-fast-check.ts"],
  },
});
