import { randomBytes } from "node:crypto";
import {
  create,
  createFileRegistry,
  type FileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import {
  type Any,
  anyUnpack,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { createApiKey } from "../../src/auth/key-service.js";
import { createDatabase } from "../../src/storage/database.js";
import { makeSale } from "../support/fixtures.js";
import { rawClient } from "../support/raw-client.js";
import { startTestServer, type TestServer, testConfig } from "../support/server.js";

let server: TestServer;
/** A tenant with a budget of one record a second: of a few at once, some are RESOURCE_EXHAUSTED. */
let throttled: { id: string; key: string };

beforeAll(async () => {
  throttled = { id: `refl-${randomBytes(4).toString("hex")}`, key: "" };
  server = await startTestServer({
    database: "postgres",
    config: {
      rateLimit: {
        ...testConfig().rateLimit,
        tenants: { [throttled.id]: { recordsPerSecond: 1, burst: 0 } },
        maxStreamWaitMs: 0,
      },
    },
  });
  const db = createDatabase({
    kind: "postgres",
    url: server.databaseUrl as string,
    poolMax: 1,
  });
  throttled.key = (await createApiKey(db.db, throttled.id)).token;
  await db.close();
});
afterAll(async () => {
  await server?.stop();
});

/** Every service the server registers; reflection must describe each of them. */
const SERVED = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "pos.ingest.v1.IngestService",
  "pos.ingest.v1.ReconcileService",
];

/**
 * A reflection client as grpcurl is one: one bidi stream of grpc.reflection.v1, one request at a
 * time. Only the reflection protocol's own messages are compiled in; everything else is learned.
 */
async function withReflection<T>(
  use: (
    ask: (request: ServerReflectionRequest["messageRequest"]) => Promise<ServerReflectionResponse>,
  ) => Promise<T>,
): Promise<T> {
  const client = rawClient(server.port);
  const call = client.makeBidiStreamRequest(
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    (r: ServerReflectionRequest) => Buffer.from(toBinary(ServerReflectionRequestSchema, r)),
    (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
    new Metadata(),
  );
  const waiting: Array<(r: ServerReflectionResponse) => void> = [];
  call.on("data", (r: ServerReflectionResponse) => waiting.shift()?.(r));
  const failed = new Promise<never>((_, reject) => call.on("error", reject));
  try {
    return await use((messageRequest) => {
      const answer = new Promise<ServerReflectionResponse>((resolve) => waiting.push(resolve));
      call.write(create(ServerReflectionRequestSchema, { messageRequest }));
      return Promise.race([answer, failed]);
    });
  } finally {
    call.end();
    client.close();
  }
}

function descriptors(response: ServerReflectionResponse): FileDescriptorProto[] {
  const r = response.messageResponse;
  if (r.case !== "fileDescriptorResponse") {
    throw new Error(`reflection answered ${r.case}: ${JSON.stringify(r.value)}`);
  }
  return r.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

/**
 * What grpcurl does before a call: list the services, fetch the file of each (and of each
 * symbol asked for), then every import by name until nothing is missing. Fails on any gap.
 */
async function resolveAll(symbols: readonly string[]): Promise<{
  services: string[];
  registry: FileRegistry;
}> {
  return withReflection(async (ask) => {
    const listed = (await ask({ case: "listServices", value: "*" })).messageResponse;
    if (listed.case !== "listServicesResponse") throw new Error(`listServices: ${listed.case}`);
    const services = listed.value.service.map((s) => s.name).sort();
    const files = new Map<string, FileDescriptorProto>();
    const add = (protos: FileDescriptorProto[]) => {
      for (const p of protos) if (!files.has(p.name)) files.set(p.name, p);
    };
    for (const symbol of [...services, ...symbols]) {
      const protos = descriptors(await ask({ case: "fileContainingSymbol", value: symbol }));
      add(protos);
    }
    for (let missing = missingImports(files); missing.length; missing = missingImports(files)) {
      for (const name of missing)
        add(descriptors(await ask({ case: "fileByFilename", value: name })));
    }
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: importsFirst(files) }),
    );
    return { services, registry };
  });
}

/** The files in an order where each comes after everything it imports, as a descriptor set needs. */
function importsFirst(files: Map<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const done = new Set<string>();
  const visit = (file: FileDescriptorProto): void => {
    if (done.has(file.name)) return;
    done.add(file.name);
    for (const dep of file.dependency) visit(files.get(dep) as FileDescriptorProto);
    ordered.push(file);
  };
  for (const file of files.values()) visit(file);
  return ordered;
}

function missingImports(files: Map<string, FileDescriptorProto>): string[] {
  return [...files.values()].flatMap((f) => f.dependency).filter((d) => !files.has(d));
}

/**
 * One unary call with the request and response described only by the reflected registry; resolves
 * with the error, or null and the response as JSON in `answers`.
 */
function callUnary(
  registry: FileRegistry,
  service: string,
  method: string,
  requestJson: object,
  headers: Record<string, string>,
  answers: unknown[] = [],
): Promise<ServiceError | null> {
  const desc = registry.getService(service)?.methods.find((m) => m.name === method);
  if (!desc) throw new Error(`${service}/${method} not resolved by reflection`);
  const client = rawClient(server.port);
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${service}/${method}`,
      (json: object) => Buffer.from(toBinary(desc.input, fromJson(desc.input, json as never))),
      (b: Buffer) => toJson(desc.output, fromBinary(desc.output, b)),
      requestJson,
      metadata,
      (error, response) => {
        client.close();
        if (!error) answers.push(response);
        resolve(error);
      },
    );
  });
}

/**
 * grpc-status-details-bin decoded as grpcurl prints it: google.rpc.Status, then each detail's
 * type asked of reflection by the name in its type URL, and unpacked with what came back.
 */
async function detailsOf(error: ServiceError): Promise<Array<{ type: string; json: unknown }>> {
  const raw = error.metadata.get("grpc-status-details-bin")[0];
  expect(raw, "the error carries grpc-status-details-bin").toBeInstanceOf(Buffer);
  const decodeStatus = (registry: FileRegistry): Any[] => {
    const desc = registry.getMessage("google.rpc.Status");
    if (!desc) throw new Error("google.rpc.Status not resolved by reflection");
    return (fromBinary(desc, raw as Buffer) as unknown as { details: Any[] }).details;
  };
  const typeNames = decodeStatus((await resolveAll(["google.rpc.Status"])).registry).map((any) =>
    any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1),
  );
  const { registry } = await resolveAll(["google.rpc.Status", ...typeNames]);
  return decodeStatus(registry).map((any) => {
    const message = anyUnpack(any, registry);
    if (!message) throw new Error(`${any.typeUrl} is not recognized`);
    const desc = registry.getMessage(message.$typeName);
    if (!desc) throw new Error(`${message.$typeName} not resolved by reflection`);
    return { type: message.$typeName, json: toJson(desc, message as never, { registry }) };
  });
}

describe("gRPC server reflection (what grpcurl and ghz --reflection use)", () => {
  it("lists every service the server serves, and each one resolves with all its imports", async () => {
    const { services, registry } = await resolveAll([]);
    expect(services).toEqual(SERVED);
    for (const name of SERVED) {
      expect(registry.getService(name)?.methods.length, name).toBeGreaterThan(0);
    }
    expect(registry.getService("grpc.health.v1.Health")?.methods.map((m) => m.name)).toContain(
      "Check",
    );
    expect(registry.getMessage("google.protobuf.Timestamp")).toBeDefined();
  });

  it("serves the error-detail types the server sends", async () => {
    const { registry } = await resolveAll([
      "google.rpc.Status",
      "google.rpc.BadRequest",
      "google.rpc.RetryInfo",
      "google.rpc.ErrorInfo",
    ]);
    for (const type of ["BadRequest", "RetryInfo", "ErrorInfo", "Status"]) {
      expect(registry.getMessage(`google.rpc.${type}`), type).toBeDefined();
    }
  });

  it("is enough to call Health/Check, as the README does with grpcurl", async () => {
    const { registry } = await resolveAll([]);
    const answers: unknown[] = [];
    const request = { service: "readiness" };
    expect(
      await callUnary(registry, "grpc.health.v1.Health", "Check", request, {}, answers),
    ).toBeNull();
    expect(answers).toEqual([{ status: "SERVING" }]);
  });

  it("decodes a real INVALID_ARGUMENT's and RESOURCE_EXHAUSTED's details with reflected types only", async () => {
    const { registry } = await resolveAll([]);
    const sale = toJson(SaleSchema, makeSale({ currency: "??" }));
    const invalid = await callUnary(
      registry,
      "pos.ingest.v1.IngestService",
      "Ingest",
      { sale },
      { authorization: `Bearer ${server.keys.acme}`, "idempotency-key": "refl-invalid" },
    );
    expect(invalid?.code).toBe(status.INVALID_ARGUMENT);
    const [badRequest, ...rest] = await detailsOf(invalid as ServiceError);
    expect(rest).toEqual([]);
    expect(badRequest?.type).toBe("google.rpc.BadRequest");
    expect(badRequest?.json).toMatchObject({
      fieldViolations: [expect.objectContaining({ field: "sale.currency" })],
    });

    const answers = await Promise.all(
      ["a", "b", "c", "d", "e"].map((k) =>
        callUnary(
          registry,
          "pos.ingest.v1.IngestService",
          "Ingest",
          { sale: toJson(SaleSchema, makeSale()) },
          { authorization: `Bearer ${throttled.key}`, "idempotency-key": `refl-${k}` },
        ),
      ),
    );
    const limited = answers.find((e) => e?.code === status.RESOURCE_EXHAUSTED);
    expect(limited, "one of five calls at once over a 1/s budget is refused").toBeDefined();
    const details = await detailsOf(limited as ServiceError);
    expect(details.map((d) => d.type)).toEqual(["google.rpc.RetryInfo", "google.rpc.ErrorInfo"]);
    expect(details[1]?.json).toMatchObject({ reason: "RATE_LIMITED", domain: "pos-ingest" });
  });
});
