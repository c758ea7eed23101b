/**
 * The server's CPU per streamed record with the leanest client there is: one raw grpc-js client
 * in this process, every message encoded before the clock starts, so the client costs ~10 µs a
 * record with one sale per message and ~1 µs with batch messages, and the server and Postgres
 * have the two cores nearly to themselves. Rounds alternate IngestStream (one sale a message) and
 * IngestBatchStream (`--records-per-message`, default 500) through one server process on a fresh
 * database; each stream has its own key. Prints, per round and as medians, records/s and the CPU
 * µs per record of the server process, of every `postgres` process and of this client.
 *
 *   npm run bench:stream-cpu -- [--records 200000] [--rounds 3] [--records-per-message 500]
 *
 * It starts `dist/src/main.js` of the working directory: run from another build's tree (with
 * `--no-batch` if that build has no IngestBatchStream), it measures that build.
 */
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { credentials, Client as GrpcClient, Metadata } from "@grpc/grpc-js";
import {
  IngestBatchStreamRequestSchema,
  IngestRequestSchema,
} from "../gen/pos/ingest/v1/ingest_pb.js";
import { createFreshDatabase } from "./fresh-database.js";
import { cpuSnapshot, cpuUsedBetween } from "./process-stats.js";
import { startServer } from "./server-process.js";
import { v1Sale } from "./typical-sales.js";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    "records-per-message": { type: "string", default: "500" },
    // One sale a message only: for a server before IngestBatchStream (run from its tree).
    "no-batch": { type: "boolean", default: false },
  },
});
const records = Number(values.records);
const rounds = Number(values.rounds);
const perMessage = Number(values["records-per-message"]);
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const sale = v1Sale();
const one = Buffer.from(toBinary(IngestRequestSchema, create(IngestRequestSchema, { sale })));
const allModes = {
  "one sale a message": {
    method: "/pos.ingest.v1.IngestService/IngestStream",
    messages: Array.from({ length: records }, () => one),
  },
  [`batch messages, ${perMessage} a message`]: {
    method: "/pos.ingest.v1.IngestService/IngestBatchStream",
    messages: Array.from({ length: Math.ceil(records / perMessage) }, (_, m) => {
      const n = Math.min(perMessage, records - m * perMessage);
      const batch = create(IngestBatchStreamRequestSchema, {
        records: Array.from({ length: n }, () => create(IngestRequestSchema, { sale })),
      });
      return Buffer.from(toBinary(IngestBatchStreamRequestSchema, batch));
    }),
  },
};

const modes = values["no-batch"]
  ? { "one sale a message": allModes["one sale a message"] }
  : allModes;

const database = await createFreshDatabase(databaseUrl);
const server = await startServer({ databaseUrl: database.url, nodeArgs: [] });
const client = new GrpcClient(server.target, credentials.createInsecure());
const identity = (b: Buffer) => b;

/** Sends one stream, writing as fast as flow control lets it. */
function stream(method: string, messages: readonly Buffer[], key: string): Promise<void> {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${database.token}`);
  metadata.set("idempotency-key", key);
  return new Promise((resolve, reject) => {
    const call = client.makeClientStreamRequest(method, identity, identity, metadata, (err) =>
      err ? reject(err) : resolve(),
    );
    let i = 0;
    const pump = (): void => {
      while (i < messages.length) {
        if (!call.write(messages[i++] as Buffer)) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  });
}

type Figures = { recordsPerSecond: number; server: number; postgres: number; client: number };
const results = new Map<string, Figures[]>();
try {
  for (const [name, { method, messages }] of Object.entries(modes)) {
    // A warm-up stream per mode: the server's JIT, the pool's connections.
    await stream(method, messages.slice(0, Math.ceil(messages.length / 4)), `warm-${name}`);
  }
  for (let round = 1; round <= rounds; round++) {
    for (const [name, { method, messages }] of Object.entries(modes)) {
      const before = cpuSnapshot([server.pid]);
      const clientBefore = process.cpuUsage();
      const started = performance.now();
      await stream(method, messages, `round-${round}-${name}`);
      const seconds = (performance.now() - started) / 1000;
      const used = cpuUsedBetween(before, cpuSnapshot([server.pid]));
      const own = process.cpuUsage(clientBefore);
      const figures = {
        recordsPerSecond: records / seconds,
        server: ((used.serverCpuSeconds ?? Number.NaN) * 1e6) / records,
        postgres: ((used.postgresCpuSeconds ?? Number.NaN) * 1e6) / records,
        client: (own.user + own.system) / records,
      };
      results.set(name, [...(results.get(name) ?? []), figures]);
      process.stderr.write(
        `round ${round}, ${name}: ${Math.round(figures.recordsPerSecond)} records/s, server ${figures.server.toFixed(1)} µs, postgres ${figures.postgres.toFixed(1)} µs, client ${figures.client.toFixed(1)} µs per record\n`,
      );
    }
  }
} finally {
  client.close();
  await server.stop();
  await database.drop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
process.stdout.write(
  `${records.toLocaleString("en")} records a stream, medians of ${rounds} rounds (CPU µs per record)\n\n`,
);
process.stdout.write(
  "| stream | records/s | server | Postgres | client |\n| --- | ---: | ---: | ---: | ---: |\n",
);
for (const [name, list] of results) {
  const m = (k: keyof Figures) => median(list.map((f) => f[k]));
  process.stdout.write(
    `| ${name} | ${Math.round(m("recordsPerSecond")).toLocaleString("en")} | ${m("server").toFixed(1)} | ${m("postgres").toFixed(1)} | ${m("client").toFixed(1)} |\n`,
  );
}
