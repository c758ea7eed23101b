import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import pg from "pg";
import { IngestRequestSchema } from "../gen/pos/ingest/v1/ingest_pb.js";
import { SaleSchema, TenderType } from "../gen/pos/ingest/v1/sale_pb.js";
import { createApiKey } from "../src/auth/key-service.js";
import { createDatabase } from "../src/storage/database.js";
import { migrateToLatest } from "../src/storage/migrate.js";

/**
 * Quick ingest benchmark: the compiled server in a child process on a fresh Postgres database,
 * load from this process over grpc-js with pre-encoded requests (so the client spends little CPU).
 * Prints unary calls/s and latency at a given concurrency, and streamed records/s.
 */
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    concurrency: { type: "string", short: "c", default: "75" },
    requests: { type: "string", short: "n" },
    "stream-records": { type: "string" },
  },
});
const concurrency = Number(values.concurrency);
const unaryRequests = Number(values.requests ?? (values.quick ? 5_000 : 20_000));
const streamRecords = Number(values["stream-records"] ?? (values.quick ? 20_000 : 100_000));
const baseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const UNARY = "/pos.ingest.v1.IngestService/Ingest";
const STREAM = "/pos.ingest.v1.IngestService/IngestStream";

function encodedSales(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const sale = create(SaleSchema, {
      saleId: `bench-${i}-${randomBytes(4).toString("hex")}`,
      locationId: `store-${i % 50}`,
      registerId: `till-${i % 4}`,
      source: "bench-pos",
      occurredAt: timestampFromDate(new Date()),
      currency: "EUR",
      lineItems: [
        {
          sku: "SKU-1",
          name: "Espresso",
          quantityMilli: 2000n,
          unitPriceMinor: 250n,
          taxMinor: 40n,
        },
        {
          sku: "SKU-2",
          name: "Croissant",
          quantityMilli: 1000n,
          unitPriceMinor: 320n,
          discountMinor: 20n,
          taxMinor: 24n,
        },
      ],
      payments: [{ tenderType: TenderType.CARD, amountMinor: 864n }],
      totals: { subtotalMinor: 820n, discountMinor: 20n, taxMinor: 64n, totalMinor: 864n },
      attributes: { channel: "in-store" },
    });
    return Buffer.from(toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale })));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function runUnary(client: Client, token: string, bodies: Buffer[], run: string) {
  const latencies: number[] = [];
  const codes = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < unaryRequests) {
      const i = next++;
      const md = new Metadata();
      md.set("authorization", `Bearer ${token}`);
      md.set("idempotency-key", `${run}-${i}`);
      const t0 = performance.now();
      const err = await new Promise<ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          UNARY,
          (b: Buffer) => b,
          (b: Buffer) => b,
          bodies[i % bodies.length] as Buffer,
          md,
          (e) => resolve(e),
        ),
      );
      latencies.push(performance.now() - t0);
      const code = err ? String(err.code) : "OK";
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: unaryRequests,
    concurrency,
    rps: Math.round(unaryRequests / seconds),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    codes: Object.fromEntries(codes),
  };
}

async function runStream(client: Client, token: string, bodies: Buffer[]) {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  md.set("idempotency-key", `bench-stream-${randomBytes(4).toString("hex")}`);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const call = client.makeClientStreamRequest(
      STREAM,
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
      (err) => (err ? reject(err) : resolve()),
    );
    let i = 0;
    const pump = () => {
      while (i < streamRecords) {
        if (!call.write(bodies[i++ % bodies.length] as Buffer)) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    records: streamRecords,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(streamRecords / seconds),
  };
}

async function main() {
  const dbName = `pos_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  let server: ChildProcess | undefined;
  try {
    const setup = await createDatabase({ kind: "postgres", url: url.toString(), poolMax: 2 });
    await migrateToLatest(setup.db);
    const token = (await createApiKey(setup.db, "bench")).token;
    await setup.close();

    const port = 50_000 + Math.floor(Math.random() * 5_000);
    // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the server for a flame graph.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
    server = spawn("node", [...nodeArgs, "dist/src/main.js"], {
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        GRPC_PORT: String(port),
        GRPC_HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 20_000, (err) => (err ? reject(err) : resolve())),
    );
    const bodies = encodedSales(1_000);
    await runUnary(client, token, bodies, "warmup"); // JIT and pool warm-up, not reported
    const unary = await runUnary(client, token, bodies, "unary");
    const stream = await runStream(client, token, bodies);
    const result = { when: new Date().toISOString(), node: process.version, unary, stream };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync("bench/results", { recursive: true });
    writeFileSync(
      `bench/results/${result.when.replace(/[:.]/g, "-")}.json`,
      JSON.stringify(result, null, 2),
    );
    client.close();
  } finally {
    server?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

await main();
