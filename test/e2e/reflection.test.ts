import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ database: "pglite" });
});
afterAll(async () => {
  await server?.stop();
});

/**
 * One request on grpc.reflection.v1's bidi stream, encoded by hand (grpcurl and ghz are not
 * installable here): `field` is the oneof field number of ServerReflectionRequest, `value` the
 * string it carries. Resolves with the raw response bytes.
 */
function reflect(field: number, value: string): Promise<Buffer> {
  const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  const payload = Buffer.from(value);
  const request = Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (b: Buffer) => b,
      (b: Buffer) => b,
      new Metadata(),
    );
    call.on("data", (response: Buffer) => {
      resolve(response);
      call.end();
      client.close();
    });
    call.on("error", reject);
    call.write(request);
  });
}

describe("gRPC server reflection (what grpcurl and ghz --reflection use)", () => {
  it("lists the ingest service", async () => {
    const response = await reflect(7, "");
    expect(response.toString("latin1")).toContain("pos.ingest.v1.IngestService");
  });

  it("serves the file that defines the service, with its imports", async () => {
    const response = (await reflect(4, "pos.ingest.v1.IngestService")).toString("latin1");
    expect(response).toContain("pos/ingest/v1/ingest.proto");
    expect(response).toContain("IngestStream");
    expect(response).toContain("pos/ingest/v1/sale.proto");
  });

  it("serves imported files by name, down to the well-known types", async () => {
    const sale = (await reflect(3, "pos/ingest/v1/sale.proto")).toString("latin1");
    expect(sale).toContain("LineItem");
    const timestamp = (await reflect(3, "google/protobuf/timestamp.proto")).toString("latin1");
    expect(timestamp).toContain("Timestamp");
  });
});
