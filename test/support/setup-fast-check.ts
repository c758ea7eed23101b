import { configureFastCheck } from "./fast-check-seed.js";

// Runs in every test worker before its test files (vitest `setupFiles`).
configureFastCheck(process.env);
