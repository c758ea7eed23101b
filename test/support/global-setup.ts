import { execFileSync } from "node:child_process";

/**
 * Compiles the project once before the suite: tests that run the CLI or the server as a child
 * process run the same compiled output production runs. `-b`: incremental, as `npm run build` is,
 * so a run after no change to the sources costs an up-to-date check, not a compile.
 */
export default function setup(): void {
  execFileSync("npx", ["tsc", "-b", "tsconfig.build.json"], { stdio: "inherit" });
}
