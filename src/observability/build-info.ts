import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package version, read from the nearest package.json above this file: `src/` when run from
 * sources (tests), `dist/src/` when compiled, so the depth differs.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "pos-ingest") return pkg.version ?? "unknown";
    }
    dir = dirname(dir);
  }
  return "unknown";
}
