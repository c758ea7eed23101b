/**
 * Micro-benchmark of the server's own JavaScript per streamed record, without the network or the
 * database: each stage of the stream path timed on its own (decode, the sale's bytes, the rules,
 * the fingerprint, the row, the batch statement's parameters), and the whole session (records
 * added to a real `Session` whose batch writer builds the statement's parameters and answers
 * "inserted"), which adds the batching and bookkeeping. Best µs per record of several rounds (the
 * machine is shared), garbage collection included, for v1 and v2 typical sales.
 *
 *   npm run build && node dist/bench/record-path-micro.js [--rounds 7] [--records 20000]
 */
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { IngestRequestSchema } from "../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../gen/pos/ingest/v1/sale_pb.js";
import { fingerprintSale, streamRecordKey, uuidv7 } from "../src/ingest/canonical.js";
import { toSaleRow } from "../src/ingest/mapping.js";
import { NO_OBSERVER } from "../src/ingest/model.js";
import { batchParameters, type SaleRow, type WriteResult } from "../src/ingest/repository.js";
import { saleBytesOf } from "../src/ingest/request-bytes.js";
import { Session } from "../src/ingest/stream-session.js";
import { validateSale } from "../src/ingest/validation.js";
import { decodeIngestRequest } from "../src/protobuf/ingest-request-decoder.js";
import { usReceipt, v1Sale, vatReceipt, vatReturn } from "./typical-sales.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    records: { type: "string", default: "20000" },
    alloc: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const records = Number(values.records);
const BATCH = 500;
const limits = { maxLineItems: 5000, maxFutureSkewSeconds: 300 };

const gc = (globalThis as { gc?: () => void }).gc;
if (values.alloc && !gc) {
  throw new Error(
    "--alloc needs node --expose-gc --max-semi-space-size=512 (no scavenge mid-stage)",
  );
}

/**
 * Best µs per record of `run(records)` over the rounds (round 0 warms up); with `--alloc`, heap
 * bytes allocated per record instead (heap growth over a round after a full GC, which the large
 * young generation `--alloc` asks for keeps free of collections): unlike time, the same on a busy
 * machine.
 */
async function measure(run: () => unknown): Promise<number> {
  if (values.alloc && gc) {
    await run();
    gc();
    const before = process.memoryUsage().heapUsed;
    await run();
    return (process.memoryUsage().heapUsed - before) / records;
  }
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds + 1; round++) {
    // CPU time, not wall time: on a shared machine a round can lose the core midway.
    const start = process.cpuUsage();
    await run();
    const used = process.cpuUsage(start);
    const us = (used.user + used.system) / records;
    if (round > 0) best = Math.min(best, us);
  }
  return best;
}

const sales: [string, Sale][] = [
  ["v1 sale", v1Sale()],
  ["v2 VAT receipt", vatReceipt()],
  ["v2 US receipt", usReceipt()],
  ["v2 return", vatReturn()],
];

const header = [
  "sale",
  "decode",
  "sale bytes",
  "rules",
  "fingerprint",
  "key+id",
  "row",
  "params",
  "sum",
  "session",
];
const table: string[][] = [];
for (const [name, sale] of sales) {
  const request = toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale }));
  const bytes = Array.from({ length: records }, () => Uint8Array.from(request));
  const decoded = bytes.map((b) => decodeIngestRequest(b)?.sale as Sale);
  const saleBytes = bytes.map((b) => saleBytesOf(b) as Uint8Array);
  const fingerprints = decoded.map((s, i) => fingerprintSale(s, saleBytes[i]));
  const rows = decoded.map((s, i) =>
    toSaleRow(
      "acme",
      streamRecordKey("bench", i),
      uuidv7(),
      fingerprints[i] as ReturnType<typeof fingerprintSale>,
      s,
    ),
  );
  let sink: unknown;
  const stage = (fn: (i: number) => unknown) => () => {
    for (let i = 0; i < records; i++) sink = fn(i);
  };
  const figures = [
    await measure(stage((i) => decodeIngestRequest(bytes[i] as Uint8Array))),
    await measure(stage((i) => saleBytesOf(bytes[i] as Uint8Array))),
    await measure(stage((i) => validateSale(decoded[i], limits))),
    await measure(stage((i) => fingerprintSale(decoded[i] as Sale, saleBytes[i]))),
    await measure(stage((i) => `${streamRecordKey("bench", i)}${uuidv7()}`)),
    await measure(
      stage((i) =>
        toSaleRow(
          "acme",
          "k",
          "id",
          fingerprints[i] as ReturnType<typeof fingerprintSale>,
          decoded[i] as Sale,
        ),
      ),
    ),
    await measure(() => {
      for (let i = 0; i < records; i += BATCH) {
        const batch = rows.slice(i, i + BATCH);
        sink = batchParameters(
          batch,
          batch.map((_, j) => j),
        );
      }
    }),
  ];
  const session = await measure(async () => {
    const write = async (_tenant: string, batch: readonly SaleRow[]): Promise<WriteResult[]> => {
      batchParameters(
        batch,
        batch.map((_, j) => j),
      );
      return batch.map((r) => ({
        tenantId: r.tenantId,
        idempotencyKey: r.idempotencyKey,
        id: r.id,
        acceptedAtMicros: 0n,
        payloadHash: r.payloadHash,
        inserted: true,
      }));
    };
    const s = new Session(
      limits,
      {
        batchSize: BATCH,
        batchMaxBytes: 8 << 20,
        maxRecords: 1e9,
        maxWaitMs: 1000,
        maxInFlight: 2,
      },
      "acme",
      "bench",
      NO_OBSERVER,
      write,
      { acquire: async () => {} },
    );
    for (let i = 0; i < records; i++) {
      const b = bytes[i] as Uint8Array;
      const r = decodeIngestRequest(b);
      const wait = s.add(r?.sale, saleBytesOf(b), r?.idempotencyKey);
      if (wait) await wait;
    }
    await s.finish();
  });
  if (sink === Symbol.for("never")) process.stderr.write(String(sink));
  const sum = figures.reduce((a, b) => a + b, 0);
  table.push([name, ...[...figures, sum, session].map((f) => f.toFixed(values.alloc ? 0 : 2))]);
}
process.stdout.write(
  values.alloc
    ? `heap bytes allocated per record, ${records} records\n`
    : `CPU µs per record, best of ${rounds} rounds of ${records}\n`,
);
process.stdout.write(`| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |\n`);
for (const row of table) process.stdout.write(`| ${row.join(" | ")} |\n`);
