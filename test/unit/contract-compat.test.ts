import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The v2 sale model is additive (issue 11): the contract as it shipped before it, frozen in
// test/golden/v1-contract.binpb (`buf build proto` of the v1 tree), must still be a compatible
// ancestor of proto/ by buf's FILE rules, so old clients and stored rows keep their meaning.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("the contract", () => {
  it("breaks nothing of v1 (buf breaking against the frozen v1 image)", () => {
    const buf = spawnSync(
      "npx",
      ["buf", "breaking", "proto", "--against", "test/golden/v1-contract.binpb"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(buf.error).toBeUndefined();
    expect(`${buf.stdout}${buf.stderr}`.trim()).toBe("");
    expect(buf.status).toBe(0);
  });
});
