import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { IngestRequestSchema, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApp } from "../../src/app.js";
import { connectIngest } from "../support/connect-client.js";
import { makeSale } from "../support/fixtures.js";
import { testLogger } from "../support/log-lines.js";
import { auth, testConfig } from "../support/server.js";

const root = mkdtempSync(join(tmpdir(), "pos-ingest-embedded-"));
// Nested and not there yet, like .data/pglite in a fresh clone.
const dataDir = join(root, ".data", "pglite");
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts the app as `npm start` would with no DATABASE_URL, capturing its JSON log lines. */
async function startEmbedded() {
  const lines: Record<string, unknown>[] = [];
  const logger = testLogger({ level: "info", onLine: (line) => lines.push(line) });
  const config = testConfig({
    database: { kind: "pglite", dataDir },
    auth: { ...testConfig().auth, devKeyOnEmpty: true },
  });
  const app = createApp(config, logger);
  const { grpcPort } = await app.start();
  const connection = connectIngest(`http://127.0.0.1:${grpcPort}`);
  return { app, connection, client: connection.client, lines };
}

function devKeyFrom(lines: Record<string, unknown>[]): string | undefined {
  for (const line of lines) {
    const match = /development API key \(shown once\): (pik_\S+)/.exec(String(line.msg));
    if (match) return match[1];
  }
  return undefined;
}

describe("embedded mode (PGlite, no DATABASE_URL)", () => {
  const sale = makeSale();
  let firstId = "";
  let devKey = "";

  it("prints a development key on first start and ingests with it", async () => {
    const { app, connection, client, lines } = await startEmbedded();
    try {
      const key = devKeyFrom(lines);
      expect(key).toBeDefined();
      devKey = key as string;
      const res = await client.ingest({ sale }, auth(key as string, "embedded-1"));
      expect(res.outcome).toBe(Outcome.ACCEPTED);
      firstId = res.recordId;

      // Without a key, concurrent copies of one sale share its content key: one is stored.
      const other = makeSale();
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, () => client.ingest({ sale: other }, auth(key as string))),
      );
      expect(concurrent.filter((r) => r.outcome === Outcome.ACCEPTED)).toHaveLength(1);

      const sameKey = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.ingest({ sale }, auth(key as string, "embedded-1")),
        ),
      );
      expect(sameKey.every((r) => r.outcome === Outcome.DUPLICATE && r.recordId === firstId)).toBe(
        true,
      );

      async function* stream() {
        for (let i = 0; i < 1_000; i++) yield create(IngestRequestSchema, { sale: makeSale() });
      }
      const summary = await client.ingestStream(stream(), auth(key as string, "embedded-stream"));
      expect(summary).toMatchObject({ received: 1_000n, accepted: 1_000n, rejected: 0n });
      // The key never appears in any log field other than the one-time message.
      expect(lines.filter((l) => JSON.stringify(l).includes(key as string))).toHaveLength(1);
    } finally {
      await app.stop();
      connection.close();
    }
  });

  it("keeps its data across a restart and prints no second key", async () => {
    const { app, connection, client, lines } = await startEmbedded();
    try {
      expect(devKeyFrom(lines)).toBeUndefined();
      expect(lines.some((l) => l.msg === "migration")).toBe(false);
      const replay = await client.ingest({ sale }, auth(devKey, "embedded-1"));
      expect(replay).toMatchObject({ outcome: Outcome.DUPLICATE, recordId: firstId });
      const err = await client.ingest({ sale }, { headers: {} }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 16 });
    } finally {
      await app.stop();
      connection.close();
    }
  });
});
