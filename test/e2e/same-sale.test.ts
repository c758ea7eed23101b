import { createHash, randomUUID } from "node:crypto";
import { clone, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, status } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IngestRequestSchema,
  IngestResponseSchema,
  IngestStreamResponseSchema,
  Outcome,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import {
  LineItemSchema,
  PaymentSchema,
  type Sale,
  SaleSchema,
  TenderType,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { rawClient, rawClientStream, rawUnary } from "../support/raw-client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// "The same sale" is decided on the sale, not on the bytes it arrived as: one sale encoded the
// ways real encoders encode it is one record, with a key (a retry: DUPLICATE) and without one
// (keyed by content: stored once). Sale has no repeated scalar fields, so packed versus unpacked
// does not arise; its repeated fields are messages and a map.

const INGEST = "/pos.ingest.v1.IngestService/Ingest";
const INGEST_STREAM = "/pos.ingest.v1.IngestService/IngestStream";

let server: TestServer;
let client: Client;
let protobufJs: (request: object) => Buffer;

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  client = rawClient(server.port);
  // What a grpc-js client built with @grpc/proto-loader sends: protobuf.js writes every field
  // present on the object, zeros and empty strings included.
  const definition = protoLoader.loadSync("pos/ingest/v1/ingest.proto", {
    includeDirs: ["proto"],
    longs: String,
  });
  const service = definition["pos.ingest.v1.IngestService"] as protoLoader.ServiceDefinition;
  protobufJs = (request) => service.Ingest?.requestSerialize(request) as Buffer;
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

/**
 * A sale with zeros and empty strings in it, two lines, two payments, and one attribute or three
 * (in key order, as canonical bytes have them).
 */
function saleWithDefaults(saleId: string, attributes: 1 | 3): Sale {
  return makeSale({
    saleId,
    occurredAt: timestampFromDate(new Date("2026-01-15T12:00:00Z")), // nanos 0
    lineItems: [
      { sku: "SKU-1", name: "Espresso", quantityMilli: 2000n, unitPriceMinor: 250n, taxMinor: 40n },
      { sku: "SKU-2", name: "", quantityMilli: 1000n, unitPriceMinor: 320n, discountMinor: 20n },
    ],
    payments: [
      { tenderType: TenderType.CASH, amountMinor: 500n },
      { tenderType: TenderType.CARD, amountMinor: 340n },
    ],
    customer: { customerId: "c-1", name: "Ada", email: "", phone: "" },
    attributes:
      attributes === 1
        ? { channel: "in-store" }
        : { campaign: "spring", cashier: "bob", channel: "in-store" },
  });
}

/** The sale as a plain object with every field present, as an application hands it to protobuf.js. */
function asPlainObject(sale: Sale): object {
  const long = (n: bigint) => n.toString();
  return {
    saleId: sale.saleId,
    locationId: sale.locationId,
    registerId: sale.registerId,
    source: sale.source,
    occurredAt: { seconds: long(sale.occurredAt?.seconds ?? 0n), nanos: sale.occurredAt?.nanos },
    currency: sale.currency,
    lineItems: sale.lineItems.map((l) => ({
      sku: l.sku,
      name: l.name,
      quantityMilli: long(l.quantityMilli),
      unitPriceMinor: long(l.unitPriceMinor),
      discountMinor: long(l.discountMinor),
      taxMinor: long(l.taxMinor),
    })),
    payments: sale.payments.map((p) => ({
      tenderType: p.tenderType,
      amountMinor: long(p.amountMinor),
    })),
    totals: {
      subtotalMinor: long(sale.totals?.subtotalMinor ?? 0n),
      discountMinor: long(sale.totals?.discountMinor ?? 0n),
      taxMinor: long(sale.totals?.taxMinor ?? 0n),
      totalMinor: long(sale.totals?.totalMinor ?? 0n),
    },
    customer: {
      customerId: sale.customer?.customerId,
      name: sale.customer?.name,
      email: sale.customer?.email,
      phone: sale.customer?.phone,
    },
    attributes: { ...sale.attributes },
  };
}

/** Tags of Sale's message-typed fields (and map entries), whose contents are rewritten too. */
const NESTED = new Set([0x2a, 0x3a, 0x42, 0x4a, 0x52, 0x5a]);

/**
 * Re-encodes a message by hand: its fields in reverse order of field number (the elements of a
 * repeated field keep their order), or with every length prefix padded to a longer varint, or
 * both; nested messages and map entries (value before key) likewise.
 */
function rewrite(bytes: Uint8Array, how: { reverse: boolean; pad: boolean }, depth = 0): number[] {
  // Only varint and length-delimited fields: all Sale has.
  const fields: { no: number; bytes: number[] }[] = [];
  let pos = 0;
  const varint = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 0x80) {
      const b = bytes[pos++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    if ((tag & 7) === 0) {
      const start = pos;
      varint();
      fields.push({ no: tag >> 3, bytes: [tag, ...bytes.subarray(start, pos)] });
      continue;
    }
    const length = varint();
    let value = [...bytes.subarray(pos, pos + length)];
    pos += length;
    // Sale's submessages hold scalars only: one level of nesting is all there is.
    if (depth === 0 && NESTED.has(tag)) value = rewrite(new Uint8Array(value), how, 1);
    fields.push({ no: tag >> 3, bytes: [tag, ...lengthPrefix(value.length, how.pad), ...value] });
  }
  if (how.reverse) fields.sort((a, b) => b.no - a.no); // stable: a repeated field keeps its order
  return fields.flatMap((f) => f.bytes);
}

function lengthPrefix(n: number, pad: boolean): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  if (!pad) return [...out, v];
  return [...out, v | 0x80, 0x80, 0x00];
}

function request(saleBytes: number[] | Uint8Array): Buffer {
  const sale = [...saleBytes];
  return Buffer.from([0x0a, ...lengthPrefix(sale.length, false), ...sale]);
}

/** One sale, encoded every way a real encoder does (and the first one the canonical way). */
function encodings(sale: Sale): [string, Buffer][] {
  const canonical = toBinary(SaleSchema, sale);
  const reversedAttributes = clone(SaleSchema, sale);
  reversedAttributes.attributes = Object.fromEntries(Object.entries(sale.attributes).reverse());
  const [line1, line2] = sale.lineItems;
  const interleaved = clone(SaleSchema, sale);
  interleaved.lineItems = [];
  interleaved.payments = [];
  const withoutRepeated = toBinary(SaleSchema, interleaved);
  const field = (tag: number, bytes: Uint8Array) => [
    tag,
    ...lengthPrefix(bytes.length, false),
    ...bytes,
  ];
  const [pay1, pay2] = sale.payments;
  if (!line1 || !line2 || !pay1 || !pay2)
    throw new Error("the sale needs two lines and two payments");
  const lines = [line1, line2].map((l) => toBinary(LineItemSchema, l));
  const pays = [pay1, pay2].map((p) => toBinary(PaymentSchema, p));
  const all: [string, Buffer][] = [
    ["canonical (protobuf-es, attributes in key order)", request(canonical)],
    [
      "protobuf.js via @grpc/proto-loader, zeros and empty strings written",
      protobufJs({ sale: asPlainObject(sale) }),
    ],
    [
      "fields in reverse order, nested messages and map entries too",
      request(rewrite(canonical, { reverse: true, pad: false })),
    ],
    ...(Object.keys(sale.attributes).length > 1
      ? [
          [
            "attribute entries in another order",
            request(toBinary(SaleSchema, reversedAttributes)),
          ] as [string, Buffer],
        ]
      : []),
    [
      "repeated fields interleaved (line, payment, line, payment)",
      request([
        ...withoutRepeated,
        ...field(0x3a, lines[0] as Uint8Array),
        ...field(0x42, pays[0] as Uint8Array),
        ...field(0x3a, lines[1] as Uint8Array),
        ...field(0x42, pays[1] as Uint8Array),
      ]),
    ],
    ["length prefixes padded", request(rewrite(canonical, { reverse: false, pad: true }))],
  ];
  return all;
}

/** The encodings with the canonical or the protobuf.js one first. */
function inOrder(all: [string, Buffer][], first: string): [string, Buffer][] {
  const [canonical, protobufJsOne, ...rest] = all as [[string, Buffer], [string, Buffer]];
  return first === "canonical"
    ? [canonical, protobufJsOne, ...rest]
    : [protobufJsOne, canonical, ...rest];
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function storedRows(saleId: string) {
  return query<{ idempotency_key: string; payload_hash: string; sale: Buffer }>(
    server.databaseUrl as string,
    `select idempotency_key, encode(payload_hash, 'hex') as payload_hash, sale
     from sales where tenant_id = 'acme' and sale_id = $1`,
    [saleId],
  );
}

async function ingest(body: Buffer, key?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${server.keys.acme}` };
  if (key !== undefined) headers["idempotency-key"] = key;
  const { error, response } = await rawUnary(client, INGEST, body, headers);
  expect(error?.details, error?.message).toBeUndefined();
  return fromBinary(IngestResponseSchema, response as Buffer);
}

describe.each([1, 3] as const)(
  "one sale with %i attribute(s), in every encoding, is one record",
  (attributes) => {
    const saleFor = (test: string) =>
      saleWithDefaults(`same-sale-${test}-${randomUUID()}`, attributes);

    it("sanity: every encoding decodes to the same sale, and they all differ as bytes", () => {
      const sale = saleFor("sanity");
      const all = encodings(sale);
      for (const [name, body] of all) {
        expect(fromBinary(IngestRequestSchema, body).sale, name).toEqual(sale);
      }
      expect(new Set(all.map(([, body]) => body.toString("hex"))).size).toBe(all.length);
    });

    for (const first of ["canonical", "protobuf.js"]) {
      it(`with a key: every encoding after the first (${first}) is a retry, DUPLICATE`, async () => {
        const sale = saleFor(`keyed-${first}`);
        const all = inOrder(encodings(sale), first);
        const key = `same-sale-${randomUUID()}`;
        const answers = [];
        for (const [name, body] of all) answers.push({ name, answer: await ingest(body, key) });
        expect(answers.map((a) => `${a.name}: ${Outcome[a.answer.outcome]}`)).toEqual(
          all.map(([name], i) => `${name}: ${i === 0 ? "ACCEPTED" : "DUPLICATE"}`),
        );
        for (const { name, answer } of answers) {
          expect(answer.recordId, name).toBe(answers[0]?.answer.recordId);
        }
        const rows = await storedRows(sale.saleId);
        expect(rows.map((r) => r.idempotency_key)).toEqual([key]);
        // Stored canonical whichever encoding came first, and hashed as stored.
        const canonical = Buffer.from(toBinary(SaleSchema, sale));
        expect(rows[0]?.sale).toEqual(canonical);
        expect(rows[0]?.payload_hash).toBe(sha256(canonical));
      });

      it(`without a key: every encoding after the first (${first}) is the same content, stored once`, async () => {
        const sale = saleFor(`unkeyed-${first}`);
        const all = inOrder(encodings(sale), first);
        const answers = [];
        for (const [name, body] of all) answers.push({ name, answer: await ingest(body) });
        expect(answers.map((a) => `${a.name}: ${Outcome[a.answer.outcome]}`)).toEqual(
          all.map(([name], i) => `${name}: ${i === 0 ? "ACCEPTED" : "DUPLICATE"}`),
        );
        const canonical = Buffer.from(toBinary(SaleSchema, sale));
        for (const { answer } of answers) {
          expect(answer.idempotencyKey).toBe(`content:${sha256(canonical)}`);
        }
        const rows = await storedRows(sale.saleId);
        expect(rows).toHaveLength(1);
        expect(rows[0]?.sale).toEqual(canonical);
      });
    }

    it("in a stream without keys: the first encoding is accepted, the rest are duplicates", async () => {
      const sale = saleFor("stream");
      const bodies = encodings(sale).map(([, body]) => body);
      const { error, response } = await rawClientStream(client, INGEST_STREAM, bodies, {
        authorization: `Bearer ${server.keys.acme}`,
      });
      expect(error).toBeNull();
      const summary = fromBinary(IngestStreamResponseSchema, response as Buffer);
      const { accepted, duplicate, rejected } = summary;
      expect({ accepted, duplicate, rejected }).toEqual({
        accepted: 1n,
        duplicate: BigInt(bodies.length - 1),
        rejected: 0n,
      });
      expect(await storedRows(sale.saleId)).toHaveLength(1);
    });

    it("a sale that differs in one field is another sale, however it is encoded", async () => {
      const sale = saleFor("differs");
      const other = clone(SaleSchema, sale);
      other.attributes = { ...sale.attributes, channel: "web" };
      const key = `same-sale-${randomUUID()}`;
      const asProtobufJs = (s: Sale) => protobufJs({ sale: asPlainObject(s) });
      expect((await ingest(asProtobufJs(sale), key)).outcome).toBe(Outcome.ACCEPTED);
      const { error } = await rawUnary(client, INGEST, asProtobufJs(other), {
        authorization: `Bearer ${server.keys.acme}`,
        "idempotency-key": key,
      });
      expect(error?.code).toBe(status.FAILED_PRECONDITION);
      expect((await ingest(asProtobufJs(other))).outcome).toBe(Outcome.ACCEPTED);
      expect((await ingest(request(toBinary(SaleSchema, sale)))).outcome).toBe(Outcome.ACCEPTED);
      expect(await storedRows(sale.saleId)).toHaveLength(3);
    });
  },
);
