import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * src/contract/ is shared with the client library and any gateway, a browser's included: it may
 * import only gen/, @bufbuild/protobuf and itself, never node: modules, pg or the config.
 */
describe("src/contract imports", () => {
  const files = readdirSync("src/contract").filter((f) => f.endsWith(".ts"));

  it.each(files)("%s imports only gen/, @bufbuild/protobuf and src/contract", (file) => {
    const text = readFileSync(`src/contract/${file}`, "utf8");
    const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
    for (const s of specifiers) {
      expect(s, `${file} imports ${s}`).toMatch(
        /^(\.\/[a-z0-9-]+\.js|\.\.\/\.\.\/gen\/.+|@bufbuild\/protobuf(\/.*)?)$/,
      );
    }
  });
});
