import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

// What a gateway team does: `npm pack` the client package (src/client), install the tarball in a
// project of its own, compile a program against its types and run it against a real server. Its
// installed tree must hold none of the server's dependencies.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const SERVER_ONLY = ["pg", "@electric-sql/pglite", "kysely", "ioredis", "@grpc/grpc-js"];
const versionOf = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  return lock.packages[`node_modules/${name}`]?.version as string;
};

const PROGRAM = `import { createIngestClient, create, SaleSchema, TenderType, computeTotals, zReport, zReportDay } from "@pos-ingest/client";
import { isValidIdempotencyKey } from "@pos-ingest/client/rules";

const init = {
  source: "gateway-pkg",
  locationId: "pkg-1",
  registerId: "till-1",
  saleId: \`pkg-\${process.argv[2]}\`,
  occurredAt: { seconds: BigInt(Math.floor(Date.now() / 1000) - 60), nanos: 0 },
  currency: "EUR",
  lineItems: [{ sku: "SKU-1", name: "Espresso", quantityMilli: 1000n, unitPriceMinor: 250n }],
  payments: [{ tenderType: TenderType.CARD, amountMinor: 250n }],
};
// Totals by the server's own rules, from the package's rules module.
const sale = create(SaleSchema, { ...init, totals: computeTotals(init) });
const client = createIngestClient({
  baseUrl: process.env.POS_INGEST_SERVER as string,
  apiKey: process.env.POS_INGEST_API_KEY as string,
});
const result = await client.ingest(sale);
// The store's day by the Z-report rules: the server holds exactly this one sale there.
const day = await client.reconcile({ locationId: "pkg-1", businessDay: zReportDay(sale), figures: zReport([sale]) });
console.log(result.outcome, isValidIdempotencyKey(result.idempotencyKey), day.match);
client.close();
`;

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  dir = mkdtempSync(join(tmpdir(), "pos-ingest-client-package-"));
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the client package", { timeout: 180_000 }, () => {
  it("installs alone, without the server's dependencies, and its program typechecks and runs", async () => {
    await run("npm", ["pack", "-w", "src/client", "--pack-destination", dir, "--silent"], {
      cwd: ROOT,
    });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    expect(tarball).toMatch(/^pos-ingest-client-.*\.tgz$/);

    const project = join(dir, "gateway");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "gateway", version: "1.0.0", private: true, type: "module" }),
    );
    // The peer dependency and Node's types, as a gateway project has them; from npm's cache
    // when the repository's own install put them there.
    await run(
      "npm",
      [
        "install",
        join(dir, tarball as string),
        `@bufbuild/protobuf@${versionOf("@bufbuild/protobuf")}`,
        `@types/node@${versionOf("@types/node")}`,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
      ],
      { cwd: project },
    );
    const { stdout: tree } = await run("npm", ["ls", "--all", "--parseable"], { cwd: project });
    const installed = new Set(
      tree
        .split("\n")
        .filter((p) => p.includes("node_modules"))
        .map((p) => p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length)),
    );
    expect([...installed].sort()).toContain("@pos-ingest/client");
    for (const name of SERVER_ONLY) expect(installed, name).not.toContain(name);

    writeFileSync(join(project, "gateway.ts"), PROGRAM);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          types: ["node"],
        },
        files: ["gateway.ts"],
      }),
    );
    // Typechecked against the package's own declarations, then compiled and run.
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], {
      cwd: project,
    });
    const env = {
      ...process.env,
      POS_INGEST_SERVER: server.baseUrl,
      POS_INGEST_API_KEY: server.keys.acme,
    };
    const first = await run(process.execPath, ["gateway.js", String(Date.now())], {
      cwd: project,
      env,
    });
    expect(first.stdout.trim()).toBe("accepted true true");
  });
});
