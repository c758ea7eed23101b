import { createHash } from "node:crypto";
import { clone, create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  CONTENT_KEY_PREFIX,
  canonicalSaleBytes,
  contentKey,
  fingerprintSale,
  saleHash,
  streamRecordKey,
  uuidv7,
} from "../../src/ingest/canonical.js";
import { makeSale } from "../support/fixtures.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A sale with several attributes, a customer and a fixed time, so every field is populated. */
function richSale(): Sale {
  return makeSale({
    saleId: "sale-1",
    occurredAt: timestampFromMs(Date.UTC(2025, 0, 15, 12, 0, 0, 250)),
    customer: { customerId: "c-1", name: "Ada", email: "ada@example.com", phone: "+1 555" },
    attributes: { channel: "in-store", cashier: "bob", campaign: "spring" },
  });
}

/** The same sale with its attribute entries inserted in `keys` order. */
function withAttributeOrder(sale: Sale, keys: string[]): Sale {
  const copy = clone(SaleSchema, sale);
  const attributes: Record<string, string> = {};
  for (const k of keys) attributes[k] = sale.attributes[k] ?? "";
  copy.attributes = attributes;
  return copy;
}

describe("saleHash", () => {
  it("is a hex SHA-256", () => {
    expect(saleHash(richSale())).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the same for equal sales and for a clone", () => {
    const a = richSale();
    expect(saleHash(clone(SaleSchema, a))).toBe(saleHash(a));
    expect(saleHash(a)).toBe(saleHash(a));
  });

  it("does not depend on the insertion order of attributes", () => {
    const base = richSale();
    const forward = withAttributeOrder(base, ["campaign", "cashier", "channel"]);
    const backward = withAttributeOrder(base, ["channel", "cashier", "campaign"]);
    // The plain encodings differ, so equal hashes show the canonical form did the work.
    expect(toBinary(SaleSchema, forward)).not.toEqual(toBinary(SaleSchema, backward));
    expect(saleHash(forward)).toBe(saleHash(backward));
    expect(canonicalSaleBytes(forward)).toEqual(canonicalSaleBytes(backward));
  });

  it("does not depend on attribute order with integer-like and non-ASCII keys", () => {
    const base = makeSale({ attributes: { b: "1", "10": "2", a: "3", "9": "4", é: "5", Z: "6" } });
    const keys = Object.keys(base.attributes);
    const reversed = withAttributeOrder(base, [...keys].reverse());
    const shuffled = withAttributeOrder(base, ["é", "a", "Z", "10", "b", "9"]);
    expect(saleHash(reversed)).toBe(saleHash(base));
    expect(saleHash(shuffled)).toBe(saleHash(base));
  });

  it("does not modify the sale it hashes", () => {
    const sale = withAttributeOrder(richSale(), ["channel", "cashier", "campaign"]);
    const before = toBinary(SaleSchema, sale);
    saleHash(sale);
    expect(Object.keys(sale.attributes)).toEqual(["channel", "cashier", "campaign"]);
    expect(toBinary(SaleSchema, sale)).toEqual(before);
  });

  it("counts unknown fields, at the top level and nested: they are fields of a newer schema", () => {
    const plain = richSale();
    const withUnknown = clone(SaleSchema, plain);
    withUnknown.$unknown = [{ no: 999, wireType: WireType.Varint, data: new Uint8Array([0x2a]) }];
    const nested = clone(SaleSchema, plain);
    const line = nested.lineItems[0];
    if (!line) throw new Error("fixture has no line");
    line.$unknown = [
      { no: 77, wireType: WireType.LengthDelimited, data: new Uint8Array([1, 0x41]) },
    ];
    expect(saleHash(withUnknown)).not.toBe(saleHash(plain));
    expect(saleHash(nested)).not.toBe(saleHash(plain));
    expect(saleHash(nested)).not.toBe(saleHash(withUnknown));
    // Kept in the canonical bytes, so they are stored too.
    expect(fromBinary(SaleSchema, canonicalSaleBytes(nested)).lineItems[0]?.$unknown).toEqual(
      line.$unknown,
    );
  });

  const mutations: [string, (s: Sale) => void][] = [
    ["sale_id", (s) => (s.saleId = "sale-2")],
    ["location_id", (s) => (s.locationId = "store-8")],
    ["register_id", (s) => (s.registerId = "till-3")],
    ["source", (s) => (s.source = "other-pos")],
    [
      "occurred_at.seconds",
      (s) => (s.occurredAt = timestampFromMs(Date.UTC(2025, 0, 15, 12, 0, 1, 250))),
    ],
    [
      "occurred_at.nanos",
      (s) => (s.occurredAt = timestampFromMs(Date.UTC(2025, 0, 15, 12, 0, 0, 251))),
    ],
    ["currency", (s) => (s.currency = "USD")],
    ["line sku", (s) => line(s, 0, (l) => (l.sku = "SKU-9"))],
    ["line name", (s) => line(s, 0, (l) => (l.name = "Latte"))],
    ["line quantity", (s) => line(s, 1, (l) => (l.quantityMilli += 1n))],
    ["line unit price", (s) => line(s, 1, (l) => (l.unitPriceMinor += 1n))],
    ["line discount", (s) => line(s, 1, (l) => (l.discountMinor += 1n))],
    ["line tax", (s) => line(s, 1, (l) => (l.taxMinor += 1n))],
    ["line order", (s) => s.lineItems.reverse()],
    ["a line removed", (s) => s.lineItems.pop()],
    ["tender type", (s) => pay(s, (p) => (p.tenderType = TenderType.CASH))],
    ["payment amount", (s) => pay(s, (p) => (p.amountMinor += 1n))],
    ["payments removed", (s) => (s.payments = [])],
    ["totals.subtotal", (s) => tot(s, (t) => (t.subtotalMinor += 1n))],
    ["totals.discount", (s) => tot(s, (t) => (t.discountMinor += 1n))],
    ["totals.tax", (s) => tot(s, (t) => (t.taxMinor += 1n))],
    ["totals.total", (s) => tot(s, (t) => (t.totalMinor += 1n))],
    ["customer removed", (s) => (s.customer = undefined)],
    ["customer id", (s) => cust(s, (c) => (c.customerId = "c-2"))],
    ["customer name", (s) => cust(s, (c) => (c.name = "Grace"))],
    ["customer email", (s) => cust(s, (c) => (c.email = "grace@example.com"))],
    ["customer phone", (s) => cust(s, (c) => (c.phone = "+1 556"))],
    ["attribute value", (s) => (s.attributes.cashier = "alice")],
    ["attribute key", (s) => (s.attributes = renameKey(s.attributes, "cashier", "cashier2"))],
    ["attribute added", (s) => (s.attributes.extra = "")],
    ["attribute removed", (s) => delete s.attributes.campaign],
  ];

  it.each(mutations)("changes when %s changes", (_name, mutate) => {
    const base = richSale();
    const changed = clone(SaleSchema, base);
    mutate(changed);
    expect(saleHash(changed)).not.toBe(saleHash(base));
  });

  it("distinguishes an empty customer from no customer", () => {
    const none = richSale();
    none.customer = undefined;
    const empty = clone(SaleSchema, none);
    empty.customer = create(SaleSchema, { customer: {} }).customer;
    expect(saleHash(empty)).not.toBe(saleHash(none));
  });
});

describe("canonicalSaleBytes", () => {
  it("decodes back to the same sale, attributes and all", () => {
    const sale = withAttributeOrder(richSale(), ["channel", "cashier", "campaign"]);
    const decoded = fromBinary(SaleSchema, canonicalSaleBytes(sale));
    expect(equals(SaleSchema, decoded, sale)).toBe(true);
    expect(Object.keys(decoded.attributes)).toEqual(["campaign", "cashier", "channel"]);
  });
});

describe("fingerprintSale", () => {
  const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

  it("without the client's bytes, fingerprints the canonical encoding", () => {
    const sale = withAttributeOrder(richSale(), ["channel", "cashier", "campaign"]);
    const fp = fingerprintSale(sale);
    expect(fp.bytes).toEqual(canonicalSaleBytes(sale));
    expect(fp.hash).toBe(sha256(canonicalSaleBytes(sale)));
    expect(fp.hash).toBe(saleHash(sale));
  });

  it("uses the client's bytes themselves when they are canonical (the fast path)", () => {
    for (const sale of [makeSale({ attributes: { channel: "web" } }), richSale()]) {
      const clientBytes = canonicalSaleBytes(sale);
      const fp = fingerprintSale(fromBinary(SaleSchema, clientBytes), clientBytes);
      expect(fp.bytes).toBe(clientBytes);
      // The hash a canonical client's rows were stored with before: sha256 of its own bytes.
      expect(fp.hash).toBe(sha256(clientBytes));
    }
  });

  it("re-encodes a sale whose client bytes are not canonical, to the canonical bytes", () => {
    const sale = makeSale({ attributes: { channel: "web" } });
    const canonical = canonicalSaleBytes(sale);
    // sale_id written again at the end: the last value wins, so this is the same sale.
    const clientBytes = new Uint8Array([
      ...canonical,
      0x0a,
      sale.saleId.length,
      ...new TextEncoder().encode(sale.saleId),
    ]);
    const fp = fingerprintSale(fromBinary(SaleSchema, clientBytes), clientBytes);
    expect(fp.bytes).toEqual(canonical);
    expect(fp.hash).toBe(saleHash(sale));
  });

  it("canonicalises a sale with two or more attributes whatever order the client sent", () => {
    const base = richSale();
    const forward = withAttributeOrder(base, ["campaign", "cashier", "channel"]);
    const backward = withAttributeOrder(base, ["channel", "cashier", "campaign"]);
    const a = fingerprintSale(forward, toBinary(SaleSchema, forward));
    const b = fingerprintSale(backward, toBinary(SaleSchema, backward));
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toBe(saleHash(base));
  });
});

describe("contentKey and streamRecordKey", () => {
  it("prefixes a content key so it cannot read as a client key", () => {
    expect(CONTENT_KEY_PREFIX).toBe("content:");
    expect(contentKey("abc123")).toBe("content:abc123");
    const hash = saleHash(richSale());
    expect(contentKey(hash)).toBe(`content:${hash}`);
  });

  it("joins a stream key and an offset with a slash", () => {
    expect(streamRecordKey("stream-1", 0)).toBe("stream-1/0");
    expect(streamRecordKey("stream-1", 42)).toBe("stream-1/42");
    expect(streamRecordKey("a/b", 7)).toBe("a/b/7");
  });
});

describe("uuidv7", () => {
  it("has the RFC 9562 layout, version 7 and variant 10", () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      expect(id).toMatch(UUID_V7);
      const bytes = Buffer.from(id.replaceAll("-", ""), "hex");
      expect((bytes[6] ?? 0) >> 4).toBe(7);
      expect((bytes[8] ?? 0) >> 6).toBe(0b10);
    }
  });

  it("carries the millisecond timestamp big-endian in its first 48 bits", () => {
    const ms = Date.UTC(2025, 0, 15, 12, 0, 0, 123);
    const id = uuidv7(ms);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(ms);
    expect(uuidv7(0).startsWith("00000000-0000-7")).toBe(true);
    expect(uuidv7(2 ** 48 - 1).startsWith("ffffffff-ffff-7")).toBe(true);
  });

  it("is random below the timestamp", () => {
    const ms = Date.UTC(2025, 0, 15);
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(ms)));
    expect(ids.size).toBe(1000);
  });

  it("sorts ids made in increasing milliseconds in creation order", () => {
    const start = Date.UTC(2025, 0, 15, 12, 0, 0, 250);
    // Steps cross byte boundaries (255 → 256, 65535 → 65536) and large jumps.
    const times = [0, 1, 255, 256, 257, 65_535, 65_536, 1_000_000, start, start + 1, start + 2];
    for (let i = 0; i < 500; i++) times.push(start + 3 + i * 997);
    const ids = times.map((t) => uuidv7(t));
    expect([...ids].sort()).toEqual(ids);
  });
});

function line(s: Sale, i: number, f: (l: Sale["lineItems"][number]) => void): void {
  const l = s.lineItems[i];
  if (!l) throw new Error(`fixture has no line ${i}`);
  f(l);
}

function pay(s: Sale, f: (p: Sale["payments"][number]) => void): void {
  const p = s.payments[0];
  if (!p) throw new Error("fixture has no payment");
  f(p);
}

function tot(s: Sale, f: (t: NonNullable<Sale["totals"]>) => void): void {
  if (!s.totals) throw new Error("fixture has no totals");
  f(s.totals);
}

function cust(s: Sale, f: (c: NonNullable<Sale["customer"]>) => void): void {
  if (!s.customer) throw new Error("fixture has no customer");
  f(s.customer);
}

function renameKey(
  attrs: Record<string, string>,
  from: string,
  to: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) out[k === from ? to : k] = v;
  return out;
}
