/**
 * Micro-benchmark of the per-record protobuf work on the server's ingest path, for v1 and v2
 * typical sales: decoding an IngestRequest with the schema-specific decoder against protobuf-es
 * (`fromBinary`, and `fromBinaryStrict`, the fallback the server actually uses), and the
 * canonical-bytes check against re-encoding. Prints µs per record (the best of several rounds:
 * the machine is shared) and each sale's encoded size.
 *
 *   npm run build && node dist/bench/decode-micro.js [--rounds 7] [--records 20000]
 */
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { IngestRequestSchema } from "../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../gen/pos/ingest/v1/sale_pb.js";
import { canonicalSaleBytes } from "../src/ingest/canonical.js";
import { saleBytesOf } from "../src/ingest/request-bytes.js";
import { isCanonicalSaleEncoding } from "../src/protobuf/canonical-sale-check.js";
import { decodeIngestRequest } from "../src/protobuf/ingest-request-decoder.js";
import { fromBinaryStrict } from "../src/protobuf/strict-decode.js";
import { usReceipt, v1Sale, vatReceipt, vatReturn } from "./typical-sales.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    records: { type: "string", default: "20000" },
  },
});
const rounds = Number(values.rounds);
const records = Number(values.records);

const sales: [string, Sale][] = [
  ["v1 sale (2 lines, card)", v1Sale()],
  ["v2 VAT receipt (3 lines x 1 tax, card+last4)", vatReceipt()],
  ["v2 US receipt (3 lines x 2 taxes, cash+tip)", usReceipt()],
  ["v2 return (negative amounts, original)", vatReturn()],
];

/** Best µs per call of `fn` over `rounds` rounds of `records` calls. */
function measure(fn: () => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  // Kept so the optimiser cannot drop the calls as dead code.
  let sink: unknown;
  for (let round = 0; round < rounds + 1; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < records; i++) sink = fn();
    const us = Number(process.hrtime.bigint() - start) / 1000 / records;
    if (round > 0) best = Math.min(best, us); // round 0 warms up
  }
  if (sink === Symbol.for("never")) process.stderr.write(String(sink));
  return best;
}

const rows: string[][] = [];
for (const [name, sale] of sales) {
  const request = toBinary(
    IngestRequestSchema,
    create(IngestRequestSchema, { sale, idempotencyKey: "pos-7/till-2/000123" }),
  );
  const saleBytes = saleBytesOf(request) as Uint8Array;
  // The fast paths must be taken, or the figures would measure the fallback twice.
  const fast = decodeIngestRequest(request);
  if (!fast) throw new Error(`${name}: the fast decoder declined it`);
  if (!isCanonicalSaleEncoding(saleBytes)) throw new Error(`${name}: not seen as canonical`);
  rows.push([
    name,
    String(saleBytes.length),
    measure(() => decodeIngestRequest(request)).toFixed(2),
    measure(() => fromBinary(IngestRequestSchema, request)).toFixed(2),
    measure(() => fromBinaryStrict(IngestRequestSchema, request)).toFixed(2),
    measure(() => isCanonicalSaleEncoding(saleBytes)).toFixed(2),
    measure(() => canonicalSaleBytes(fast.sale as Sale)).toFixed(2),
  ]);
}

const header = [
  "sale",
  "sale bytes",
  "fast decode µs",
  "fromBinary µs",
  "fromBinaryStrict µs",
  "canonical check µs",
  "re-encode µs",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const format = (cells: string[]) =>
  `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
const lines = [
  `node ${process.version}, ${records} records x ${rounds} rounds, best round`,
  format(header),
  format(widths.map((w) => "-".repeat(w))),
  ...rows.map(format),
];
process.stdout.write(`${lines.join("\n")}\n`);
