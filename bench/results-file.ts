import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A database URL with its password, if any, replaced by `***`: results files may be shared. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/**
 * Writes a run's results as JSON to `bench/results/<when><suffix>.json` (gitignored) and returns
 * the path. BigInts, which JSON has no form for, are written as strings.
 */
export function writeResults(when: string, suffix: string, results: unknown): string {
  const dir = fileURLToPath(new URL("../../bench/results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${when.replace(/[:.]/g, "-")}${suffix}.json`;
  const replacer = (_: string, v: unknown) => (typeof v === "bigint" ? String(v) : v);
  writeFileSync(file, JSON.stringify(results, replacer, 2));
  return file;
}
