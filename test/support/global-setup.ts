import { execFileSync } from "node:child_process";

/**
 * Compiles the project once before the suite: tests that run the CLI or the server as a child
 * process run the same compiled output production runs.
 */
export default function setup(): void {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
