import { parseArgs } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { IngestRequestSchema } from "../gen/pos/ingest/v1/ingest_pb.js";
import { type ConfigName, readConfig, shippedConfigPath } from "./ghz-config.js";
import {
  type BatchForm,
  batchInsert,
  type Statement,
  salesRows,
  singleRowInsert,
} from "./pg-insert-forms.js";
import { encodeBodies, findMethod } from "./request-bodies.js";

/**
 * The storage ceiling, in its own process: raw inserts of the rows the service would write for
 * a shipped config's sale (bench/ghz/<name>.json) into the service's own `sales` table (same primary key, same ON CONFLICT DO
 * NOTHING … RETURNING), on a database with nothing else running. Statements are built before the
 * clock starts. Prints one JSON line:
 * `{"single":[{concurrency,rows,seconds,rowsPerSecond}],"batches":[{form,connections,…}]}`.
 *
 *   --url postgres://…  --config stream  --single 1:1000,75:10000
 *   --batch-rows 50000 --batch-size 500 --batch-connections 1,2
 */
const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    config: { type: "string", default: "stream" },
    single: { type: "string", default: "75:5000" },
    "batch-rows": { type: "string", default: "20000" },
    "batch-size": { type: "string", default: "500" },
    "batch-connections": { type: "string", default: "1,2" },
  },
});
if (!args.url || !args.config) throw new Error("--url and --config are required");
const url = args.url;
// Only the config's sale is used; its metadata placeholders do not matter here.
const config = readConfig(shippedConfigPath(args.config as ConfigName), {
  apiKey: "-",
  runId: "-",
  distinctKeys: 1,
});
const method = findMethod(config.call);
const request = fromBinary(IngestRequestSchema, encodeBodies(method, config.data, 1)[0] as Buffer);
if (!request.sale) throw new Error("the config's data has no sale");
const sale = request.sale;

/** Runs the statements on `concurrency` connections, each taking the next one in turn. */
async function measure(statements: readonly Statement[], concurrency: number) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  // Every measurement starts from an empty table, so their order does not matter.
  await admin.query("truncate sales");
  await admin.end();
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  let next = 0;
  let inserted = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < statements.length) {
        const s = statements[next++] as Statement;
        // Not `inserted += await …`: that reads `inserted` before the await and loses updates.
        const result = await client.query(s.text, s.values);
        inserted += result.rowCount ?? 0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.end()));
  return { seconds, inserted };
}

const single = [];
for (const spec of args.single.split(",").filter(Boolean)) {
  const [concurrency, rows] = spec.split(":").map(Number) as [number, number];
  const statements = salesRows(sale, `single-${concurrency}`, rows).map(singleRowInsert);
  const { seconds, inserted } = await measure(statements, concurrency);
  single.push({ concurrency, rows: inserted, seconds, rowsPerSecond: inserted / seconds });
}

const batchRows = Number(args["batch-rows"]);
const batchSize = Number(args["batch-size"]);
const batches = [];
const forms: BatchForm[] = [
  "json + binary bytea",
  "jsonb_to_recordset",
  "multi-row VALUES",
  "unnest",
];
for (const connections of args["batch-connections"].split(",").map(Number)) {
  for (const form of forms) {
    const rows = salesRows(sale, `${form}-${connections}`, batchRows);
    const statements: Statement[] = [];
    for (let i = 0; i < rows.length; i += batchSize) {
      statements.push(batchInsert(form, rows.slice(i, i + batchSize)));
    }
    const { seconds, inserted } = await measure(statements, connections);
    batches.push({
      form,
      connections,
      batchSize,
      rows: inserted,
      seconds,
      rowsPerSecond: inserted / seconds,
    });
  }
}
process.stdout.write(`${JSON.stringify({ single, batches })}\n`);
