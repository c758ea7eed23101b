import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The README's layout table is how a newcomer finds where a concern lives: a folder added to or
// removed from src/ without the table following would leave it pointing at nothing, or silent.

const ROOT = join(import.meta.dirname, "../..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/** The first column of the layout table (`| folder | what lives there |`), entries as written. */
function layoutEntries(): Set<string> {
  const start = readme.indexOf("| folder ");
  expect(start, "README has a layout table starting `| folder`").toBeGreaterThan(-1);
  const entries = new Set<string>();
  for (const line of readme.slice(start).split("\n")) {
    if (!line.startsWith("|")) break;
    const first = line.split("|")[1] ?? "";
    for (const [, name] of first.matchAll(/`([^`]+)`/g)) if (name) entries.add(name);
  }
  return entries;
}

describe("the README's layout table", () => {
  const entries = layoutEntries();
  const src = readdirSync(join(ROOT, "src"), { withFileTypes: true });

  it("names every folder and top-level file of src/", () => {
    const missing = src
      .map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`))
      .filter((name) => !entries.has(name));
    expect(missing).toEqual([]);
  });

  it("names nothing under src/ that does not exist", () => {
    const present = new Set(src.map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`)));
    const stale = [...entries].filter((name) => name.startsWith("src/") && !present.has(name));
    expect(stale).toEqual([]);
  });
});
