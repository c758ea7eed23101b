import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/log-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own database, so files run in parallel; two workers match the two cores.
    maxWorkers: 2,
  },
});
