// A load generator in its own process, so a test measuring another client's latency does not
// share an event loop with the load. Sends pre-encoded unary Ingest requests from `concurrency`
// callers until stdin closes or SIGTERM, then prints {"calls":N,"errors":M} and exits.
// argv: <host:port> <api key> <base64 IngestRequest> <concurrency>
import { Client, credentials, Metadata } from "@grpc/grpc-js";

const [target, apiKey, body64, concurrency] = process.argv.slice(2);
const body = Buffer.from(body64 ?? "", "base64");
const client = new Client(target ?? "", credentials.createInsecure());
const metadata = new Metadata();
metadata.set("authorization", `Bearer ${apiKey}`);
let running = true;
let calls = 0;
let errors = 0;
const stop = () => {
  running = false;
};
process.on("SIGTERM", stop);
process.stdin.on("close", stop).resume();

const caller = async () => {
  while (running) {
    calls++;
    await new Promise((resolve) =>
      client.makeUnaryRequest(
        "/pos.ingest.v1.IngestService/Ingest",
        (b) => b,
        (b) => b,
        body,
        metadata,
        (err) => {
          if (err) errors++;
          resolve(undefined);
        },
      ),
    );
  }
};
await Promise.all(Array.from({ length: Number(concurrency ?? 50) }, caller));
process.stdout.write(`${JSON.stringify({ calls, errors })}\n`);
client.close();
