import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BadRequestSchema,
  PreconditionFailureSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import {
  type IngestRequest,
  IngestRequestSchema,
  Outcome,
  RejectReason,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import {
  LineKind,
  OriginalTransactionSchema,
  type Sale,
  SaleSchema,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { createIngestClient, IngestError, saleKey } from "../../src/client/index.js";
import { query } from "../support/database.js";
import { makeSale } from "../support/fixtures.js";
import { DAILY_COLUMNS, type DailyRow, expectedDaily, v1Sales } from "../support/ledger-sales.js";
import { validTransaction } from "../support/sale-v2-arbitrary.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

// The ledger as the server writes it: the view's figures per location and business day are the
// sums of ledger() over what was stored, and post-voids are stored at most once per original and
// only when they cancel it exactly. Until validation knows the v2 fields, the server validates a
// post-void as the v1 sale its body is, so the voids here repeat their original's (positive)
// lines, payments and totals, with `kind` and `original` set.

let server: TestServer;
let run = 0;

beforeAll(async () => {
  // Batches of 4, so a stream puts a sale and its void in one batch, and voids of one original
  // in batches written concurrently.
  server = await startTestServer({
    config: {
      batching: { streamBatchSize: 4, unaryBatchSize: 256, unaryMaxConcurrentWrites: 4 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** A location of its own for each test and property run: the view is read per location. */
function freshLocation(): string {
  return `ledger-${process.pid}-${++run}`;
}

async function daily(locationPrefix: string): Promise<DailyRow[]> {
  return query<DailyRow>(
    server.databaseUrl as string,
    `select ${DAILY_COLUMNS} from net_sales_daily
     where tenant_id = 'acme' and starts_with(location_id, $1)
     order by location_id collate "C", currency collate "C", business_day`,
    [locationPrefix],
  );
}

/** `sale` with some fields replaced (a copy: generated sales stay as fast-check made them). */
function edited(sale: Sale, edit: (s: Sale) => void): Sale {
  const copy = clone(SaleSchema, sale);
  edit(copy);
  return copy;
}

/** The post-void of `original`: its body as it was, with a sale id of its own. */
function voidOf(original: Sale, saleId = `${original.saleId}-void`, kind = TransactionKind.SALE) {
  return edited(original, (v) => {
    v.saleId = saleId;
    v.kind = TransactionKind.POST_VOID;
    v.original = create(OriginalTransactionSchema, { saleId: original.saleId, kind });
  });
}

/** `sale` refunded in full: a valid RETURN body, to declare a void of a return with. */
function refundOf(sale: Sale): Sale {
  return edited(sale, (v) => {
    v.kind = TransactionKind.RETURN;
    for (const line of v.lineItems) line.kind = LineKind.RETURN;
    const t = v.totals as NonNullable<Sale["totals"]>;
    t.subtotalMinor = -t.subtotalMinor;
    t.discountMinor = -t.discountMinor;
    t.taxMinor = -t.taxMinor;
    t.totalMinor = -t.totalMinor;
    for (const p of v.payments) p.amountMinor = -p.amountMinor;
  });
}

/** A post-void of `original` whose body is a valid sale, but not the original's. */
function mismatchedVoidOf(original: Sale): Sale {
  const body = makeSale({
    locationId: original.locationId,
    lineItems: [{ sku: "X", name: "other", quantityMilli: 1000n, unitPriceMinor: 1n }],
  });
  return edited(body, (v) => {
    v.kind = TransactionKind.POST_VOID;
    v.original = create(OriginalTransactionSchema, {
      saleId: original.saleId,
      kind: TransactionKind.SALE,
    });
  });
}

async function* requests(sales: readonly Sale[]): AsyncGenerator<IngestRequest> {
  for (const sale of sales)
    yield create(IngestRequestSchema, { sale, idempotencyKey: saleKey(sale) });
}

async function stream(sales: readonly Sale[]) {
  return server.client().ingestStream(requests(sales), auth(server.keys.acme));
}

async function unary(sale: Sale) {
  return server.client().ingest({ sale }, auth(server.keys.acme, saleKey(sale)));
}

async function refusal(sale: Sale): Promise<ConnectError> {
  const err = await unary(sale).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!err) throw new Error(`${sale.saleId} was accepted`);
  return err;
}

describe("net_sales_daily", () => {
  it("sums ledger() over the stored sales, per location, currency and business day", async () => {
    await fc.assert(
      fc.asyncProperty(v1Sales(["a", "b", "c"], { maxLength: 25 }), async (generated) => {
        const location = freshLocation();
        const sales = generated.map((s) =>
          edited(s, (copy) => {
            copy.locationId = `${location}-${s.locationId}`;
          }),
        );
        const res = await stream(sales);
        expect(res.accepted).toBe(BigInt(sales.length));
        expect(await daily(location)).toEqual(expectedDaily(sales));
      }),
      { numRuns: 15 },
    );
  });

  it("sums the signed totals of random valid transactions of every kind", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(validTransaction(), { minLength: 1, maxLength: 20 }),
        async (generated) => {
          const location = freshLocation();
          // Stores of their own per run, ids unique, and every void naming an original of its
          // own (not stored: a void is stored on its own declaration until its original comes).
          const sales = generated.map((s, i) =>
            edited(s, (copy) => {
              copy.locationId = `${location}-${i % 3}`;
              copy.saleId = `${location}-${i}`;
              if (copy.original) {
                copy.original.saleId = `${location}-original-${i}`;
                copy.original.locationId = "";
                copy.original.source = "";
                copy.original.idempotencyKey = "";
              }
            }),
          );
          const res = await stream(sales);
          expect(res.rejections).toEqual([]);
          expect(res.accepted).toBe(BigInt(sales.length));
          expect(await daily(location)).toEqual(expectedDaily(sales));
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a post-void nets its original's day to zero on every column", async () => {
    const location = freshLocation();
    const sale = makeSale({ locationId: location });
    expect((await unary(sale)).outcome).toBe(Outcome.ACCEPTED);
    const voided = voidOf(sale);
    expect((await unary(voided)).outcome).toBe(Outcome.ACCEPTED);

    const [day] = await daily(location);
    expect(day).toMatchObject({
      transactions: "2",
      post_voids: "1",
      gross_minor: "0",
      discount_minor: "0",
      tax_minor: "0",
      net_minor: "0",
      total_minor: "0",
      rows_without_ledger: "0",
    });
    expect(await daily(location)).toEqual(expectedDaily([sale, voided]));
    const [row] = await query<{ kind: string; original: string; total: string }>(
      server.databaseUrl as string,
      `select kind, original_kind || ':' || original_source || ':' || original_location_id || ':' ||
              original_sale_id as original, total_minor::text as total
       from sales where tenant_id = 'acme' and idempotency_key = $1`,
      [saleKey(voided)],
    );
    expect(row).toEqual({
      kind: "post_void",
      original: `sale:${sale.source}:${location}:${sale.saleId}`,
      total: String(-(sale.totals?.totalMinor ?? 0n)),
    });
  });
});

describe("post-voids, unary", () => {
  it("stores a void once: a retry with its key is a duplicate", async () => {
    const sale = makeSale({ locationId: freshLocation() });
    await unary(sale);
    const voided = voidOf(sale);
    const first = await unary(voided);
    const again = await unary(voided);
    expect(first.outcome).toBe(Outcome.ACCEPTED);
    expect(again).toMatchObject({ outcome: Outcome.DUPLICATE, recordId: first.recordId });
    expect(again.idempotencyKey).toBe(
      `pos:acme-pos:${sale.locationId}:${sale.saleId}-void:post-void`,
    );
  });

  it("refuses a second void, a void of a void, and voids that do not match, naming sale.original", async () => {
    const location = freshLocation();
    const sale = makeSale({ locationId: location });
    const other = makeSale({ locationId: location });
    await unary(sale);
    await unary(other);
    const voided = voidOf(sale);
    await unary(voided);

    const cases: [Sale, RegExp][] = [
      [
        voidOf(sale, `${sale.saleId}-void-2`),
        /already voided .*key pos:acme-pos:.*-void:post-void/,
      ],
      [voidOf(voided, "void-of-void"), /is itself a post-void/],
      [
        // A body valid as the return it declares (validation checks that), but `other` is a sale.
        voidOf(refundOf(other), `${other.saleId}-void`, TransactionKind.RETURN),
        /is a sale, not the return that original\.kind says/,
      ],
      [
        // A valid v1 body, but not the original's: other lines, other totals.
        mismatchedVoidOf(other),
        /has other totals than this void/,
      ],
      [
        edited(voidOf(other, "void-in-chf"), (v) => {
          v.currency = "CHF";
        }),
        /is in EUR, not CHF/,
      ],
    ];
    for (const [v, reason] of cases) {
      const err = await refusal(v);
      expect(err.code, v.saleId).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toMatch(reason);
      expect(err.findDetails(PreconditionFailureSchema)[0]?.violations).toEqual([
        expect.objectContaining({ type: "ORIGINAL_CONFLICT", subject: "sale.original" }),
      ]);
    }
    // Nothing of them was stored; `other` is still not voided, and can be, once.
    const stored = await query<{ n: string }>(
      server.databaseUrl as string,
      "select count(*)::text as n from sales where tenant_id = 'acme' and location_id = $1",
      [location],
    );
    expect(stored[0]?.n).toBe("3");
    expect((await unary(voidOf(other))).outcome).toBe(Outcome.ACCEPTED);
  });
});

describe("post-voids, streamed", () => {
  it("refuses the same voids in a stream, in one batch with their original or across batches", async () => {
    const location = freshLocation();
    const s = makeSale({ locationId: location });
    const s2 = makeSale({ locationId: location });
    const s3 = makeSale({ locationId: location });
    const v = voidOf(s);
    const records = [
      s,
      v, // same batch as its original: checked against it
      voidOf(s, "second-void"), // a second void of s in the batch: held back
      voidOf(v, "void-of-void"), // its original, v, is in this batch and is a void
      // batch 2, written while batch 1 may still be in flight
      s2,
      mismatchedVoidOf(s2), // a valid v1 body, but not s2's
      voidOf(s, "third-void"), // s is voided by batch 1, which this batch waits for
      s3,
      // batch 3
      voidOf(s3),
    ];
    const res = await stream(records);
    expect(res).toMatchObject({ received: 9n, accepted: 5n, duplicate: 0n, rejected: 4n });
    expect(res.rejections.map((r) => [Number(r.offset), r.reason, r.field])).toEqual(
      [2, 3, 5, 6].map((o) => [o, RejectReason.ORIGINAL_CONFLICT, "sale.original"]),
    );
    expect(res.rejections.map((r) => r.message)).toEqual([
      // Held back as the second void of s in its batch; s is voided once that batch is stored.
      expect.stringMatching(/already voided .*key pos:acme-pos:.*-void:post-void/),
      expect.stringMatching(/is itself a post-void/),
      expect.stringMatching(/has other totals than this void/),
      expect.stringMatching(/already voided .*key pos:acme-pos:.*-void:post-void/),
    ]);
    const accepted = [0, 1, 4, 7, 8].map((i) => records[i] as Sale);
    expect(await daily(location)).toEqual(expectedDaily(accepted));

    // Resent: what was stored is a duplicate, what was refused is refused again.
    const again = await stream(records);
    expect(again).toMatchObject({ accepted: 0n, duplicate: 5n, rejected: 4n });
    expect(again.rejections.map((r) => Number(r.offset))).toEqual([2, 3, 5, 6]);
    expect(await daily(location)).toEqual(expectedDaily(accepted));
  });
});

describe("post-voids through the client library", () => {
  it("keys a void by default apart from its sale and reports a conflict as original_conflict", async () => {
    const c = createIngestClient({ baseUrl: server.baseUrl, apiKey: server.keys.acme });
    try {
      const location = freshLocation();
      const sale = makeSale({ locationId: location });
      // The POS gives the void the voided receipt's number: only the key's suffix tells them apart.
      const voided = voidOf(sale, sale.saleId);
      const again = voidOf(sale, `${sale.saleId}-again`);
      const result = await c.ingestMany([sale, voided, again]);
      expect(result).toMatchObject({ accepted: 2, rejected: 1 });
      expect(result.rejections).toEqual([
        expect.objectContaining({
          index: 2,
          reason: "original_conflict",
          field: "sale.original",
          idempotencyKey: `pos:acme-pos:${location}:${sale.saleId}-again:post-void`,
        }),
      ]);
      expect((await c.ingest(voided)).outcome).toBe("duplicate");
      const err = await c.ingest(again).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IngestError);
      expect(err).toMatchObject({ code: Code.FailedPrecondition, retryable: false });
      expect(await daily(location)).toEqual(expectedDaily([sale, voided]));
    } finally {
      c.close();
    }
  });
});

describe("sales the ledger cannot represent", () => {
  it("are refused as invalid, naming the field, never stored or failed as internal", async () => {
    const badDay = edited(makeSale(), (s) => {
      s.businessDay = "2026-02-30";
    });
    const badKind = edited(makeSale(), (s) => {
      s.kind = 9 as TransactionKind;
    });
    for (const [sale, field] of [
      [badDay, "sale.business_day"],
      [badKind, "sale.kind"],
    ] as const) {
      const err = await refusal(sale);
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toContain(
        field,
      );
    }
    const res = await stream([badDay, makeSale(), badKind]);
    expect(res).toMatchObject({ accepted: 1n, rejected: 2n });
    expect(res.rejections.map((r) => [Number(r.offset), r.reason, r.field])).toEqual([
      [0, RejectReason.INVALID_ARGUMENT, "sale.business_day"],
      [2, RejectReason.INVALID_ARGUMENT, "sale.kind"],
    ]);
  });
});
