// A load generator in its own process, so a test measuring another client's latency does not
// share an event loop with the load. Sends pre-encoded unary Ingest requests from `concurrency`
// callers until stdin closes, SIGTERM or `total` calls, then prints
// {"calls":N,"errors":M,"codes":{"<grpc code>":count}} and exits.
// argv: <host:port> <api key | "random"> <base64 IngestRequest> <concurrency> [total]
// "random" sends a fresh well-formed but unknown key on every call (an authentication flood).
import { randomBytes } from "node:crypto";
import { Client, credentials, Metadata } from "@grpc/grpc-js";

const [target, apiKey, body64, concurrency, total] = process.argv.slice(2);
const body = Buffer.from(body64 ?? "", "base64");
const client = new Client(target ?? "", credentials.createInsecure());
const fixed = new Metadata();
fixed.set("authorization", `Bearer ${apiKey}`);
const metadataFor = () => {
  if (apiKey !== "random") return fixed;
  const metadata = new Metadata();
  const token = `pik_${randomBytes(6).toString("hex")}_${randomBytes(32).toString("base64url")}`;
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};
const limit = total === undefined ? Number.POSITIVE_INFINITY : Number(total);
let running = true;
let calls = 0;
let errors = 0;
/** @type {Record<string, number>} */
const codes = {};
const stop = () => {
  running = false;
};
process.on("SIGTERM", stop);
process.stdin.on("close", stop).resume();

const caller = async () => {
  while (running && calls < limit) {
    calls++;
    await new Promise((resolve) =>
      client.makeUnaryRequest(
        "/pos.ingest.v1.IngestService/Ingest",
        (b) => b,
        (b) => b,
        body,
        metadataFor(),
        (err) => {
          if (err) errors++;
          const code = String(err ? err.code : 0);
          codes[code] = (codes[code] ?? 0) + 1;
          resolve(undefined);
        },
      ),
    );
  }
};
await Promise.all(Array.from({ length: Number(concurrency ?? 50) }, caller));
process.stdout.write(`${JSON.stringify({ calls, errors, codes })}\n`);
client.close();
// With a `total`, stdin may still be open; it must not keep the process alive.
process.stdin.destroy();
