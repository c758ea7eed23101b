import { randomUUID } from "node:crypto";
import {
  type DescMethod,
  fromBinary,
  fromJson,
  type JsonValue,
  toBinary,
} from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import {
  IngestResponseSchema,
  IngestService,
  IngestStreamResponseSchema,
  Outcome,
} from "../gen/pos/ingest/v1/ingest_pb.js";
import type { Outcomes } from "./report.js";
import { type CallData, compileTemplate, hasActions } from "./template.js";

/** How many distinct pre-encoded bodies a templated `data` is rendered into. */
export const BODY_POOL_SIZE = 1_000;

/** Finds a method of IngestService from ghz's `call` (`pkg.Service.Method` or `pkg.Service/Method`). */
export function findMethod(call: string): DescMethod {
  const full = call.replace("/", ".");
  const method = IngestService.methods.find((m) => `${IngestService.typeName}.${m.name}` === full);
  if (!method) throw new Error(`unknown call ${call}: expected ${IngestService.typeName}.<Method>`);
  return method;
}

/**
 * Encodes ghz's `data` (proto JSON) once, before the clock starts, so the client spends its CPU on
 * the transport rather than on protobuf. Templated data is rendered for request numbers
 * 0…`BODY_POOL_SIZE`-1 and the bodies are reused in turn; untemplated data is one body.
 */
export function encodeBodies(method: DescMethod, data: unknown, count: number): Buffer[] {
  const text = JSON.stringify(data);
  const render = compileTemplate(text);
  const n = hasActions(text) ? Math.max(1, Math.min(count, BODY_POOL_SIZE)) : 1;
  return Array.from({ length: n }, (_, i) => {
    const call: CallData = { requestNumber: i, workerId: "0", uuid: randomUUID() };
    const message = fromJson(method.input, JSON.parse(render(call)) as JsonValue);
    return Buffer.from(toBinary(method.input, message));
  });
}

/** Builds each call's metadata from ghz's `metadata`, rendering its templates per call. */
export function compileMetadata(
  metadata: Record<string, string> | undefined,
): (call: CallData) => Metadata {
  const entries = Object.entries(metadata ?? {}).map(
    ([key, value]) => [key, compileTemplate(value)] as const,
  );
  return (call) => {
    const md = new Metadata();
    for (const [key, render] of entries) md.set(key, render(call));
    return md;
  };
}

/** Counts what the service answered in a successful response (unary or stream). */
export function countOutcomes(method: DescMethod, response: Buffer, into: Outcomes): void {
  if (method.output.typeName === IngestResponseSchema.typeName) {
    const { outcome } = fromBinary(IngestResponseSchema, response);
    if (outcome === Outcome.ACCEPTED) into.accepted++;
    else if (outcome === Outcome.DUPLICATE) into.duplicate++;
  } else if (method.output.typeName === IngestStreamResponseSchema.typeName) {
    const summary = fromBinary(IngestStreamResponseSchema, response);
    into.accepted += Number(summary.accepted);
    into.duplicate += Number(summary.duplicate);
    into.rejected += Number(summary.rejected);
  }
}
