import { create, type MessageInitShape } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SaleSchema, TenderType, TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ledger } from "../../src/contract/ledger.js";
import { makeSale } from "../support/fixtures.js";

function sale(init: MessageInitShape<typeof SaleSchema>) {
  return create(SaleSchema, { source: "acme-pos", locationId: "store-7", saleId: "S-1", ...init });
}

describe("ledger", () => {
  it("keeps a v1 sale's totals as they are: net is gross less discount", () => {
    const s = makeSale();
    const t = s.totals;
    expect(ledger(s)).toEqual({
      kind: "sale",
      original: null,
      businessDay: null,
      grossMinor: t?.subtotalMinor,
      discountMinor: t?.discountMinor,
      serviceChargeMinor: 0n,
      taxMinor: t?.taxMinor,
      includedTaxMinor: 0n,
      roundingMinor: 0n,
      tipMinor: 0n,
      netMinor: (t?.subtotalMinor ?? 0n) - (t?.discountMinor ?? 0n),
      totalMinor: t?.totalMinor,
      // makeSale pays its total by card.
      tenders: [{ tenderType: TenderType.CARD, amountMinor: t?.totalMinor, tipMinor: 0n }],
    });
  });

  it("keeps every payment as a tender in order, a return's refund negative as sent", () => {
    const l = ledger(
      sale({
        kind: TransactionKind.RETURN,
        payments: [
          { tenderType: TenderType.CARD, amountMinor: -700n },
          { tenderType: TenderType.CASH, amountMinor: -86n },
          { tenderType: TenderType.CARD, amountMinor: -1n, tipMinor: -1n },
        ],
      }),
    );
    expect(l.tenders).toEqual([
      { tenderType: TenderType.CARD, amountMinor: -700n, tipMinor: 0n },
      { tenderType: TenderType.CASH, amountMinor: -86n, tipMinor: 0n },
      { tenderType: TenderType.CARD, amountMinor: -1n, tipMinor: -1n },
    ]);
    expect(ledger(sale({})).tenders).toEqual([]);
  });

  it("counts included tax in tax and out of net (design receipt A, VAT included)", () => {
    const l = ledger(
      sale({
        kind: TransactionKind.SALE,
        businessDay: "2026-12-01",
        totals: {
          subtotalMinor: 1579n,
          discountMinor: 38n,
          includedTaxMinor: 219n,
          totalMinor: 1541n,
        },
      }),
    );
    expect(l).toMatchObject({
      kind: "sale",
      businessDay: "2026-12-01",
      grossMinor: 1579n,
      taxMinor: 219n,
      includedTaxMinor: 219n,
      netMinor: 1322n,
      totalMinor: 1541n,
    });
  });

  it("keeps a return's signs and resolves its original to this transaction's store (receipt B)", () => {
    const l = ledger(
      sale({
        kind: TransactionKind.RETURN,
        original: { saleId: "R-1001", kind: TransactionKind.SALE },
        totals: { subtotalMinor: -850n, discountMinor: -125n, taxMinor: -61n, totalMinor: -786n },
      }),
    );
    expect(l).toMatchObject({
      kind: "return",
      original: {
        source: "acme-pos",
        locationId: "store-7",
        saleId: "R-1001",
        idempotencyKey: null,
        kind: "sale",
      },
      grossMinor: -850n,
      discountMinor: -125n,
      taxMinor: -61n,
      netMinor: -725n,
      totalMinor: -786n,
    });
  });

  it("keeps a stated original's store, source and key, and an unstated kind as null", () => {
    const l = ledger(
      sale({
        kind: TransactionKind.RETURN,
        original: { saleId: "X", locationId: "store-1", source: "other", idempotencyKey: "k-1" },
        totals: { subtotalMinor: -1n, totalMinor: -1n },
      }),
    );
    expect(l.original).toEqual({
      source: "other",
      locationId: "store-1",
      saleId: "X",
      idempotencyKey: "k-1",
      kind: null,
    });
  });

  it("negates every amount of a post-void, so it and its original sum to zero (receipt C)", () => {
    const totals = {
      subtotalMinor: 1396n,
      includedTaxMinor: 55n,
      roundingMinor: -1n,
      tipMinor: 200n,
      serviceChargeMinor: 30n,
      totalMinor: 1425n,
    };
    const payments = [
      { tenderType: TenderType.CASH, amountMinor: 425n, tenderedMinor: 500n, changeMinor: 75n },
      { tenderType: TenderType.CARD, amountMinor: 1000n, tipMinor: 200n },
    ];
    const original = ledger(sale({ kind: TransactionKind.SALE, totals, payments }));
    const voided = ledger(
      sale({
        kind: TransactionKind.POST_VOID,
        saleId: "V-1",
        original: { saleId: "S-1", kind: TransactionKind.SALE },
        totals,
        payments,
      }),
    );
    // Its tenders negated like its totals: cash −425, card −1000 with tip −200.
    expect(voided.tenders).toEqual([
      { tenderType: TenderType.CASH, amountMinor: -425n, tipMinor: 0n },
      { tenderType: TenderType.CARD, amountMinor: -1000n, tipMinor: -200n },
    ]);
    expect(voided).toMatchObject({
      kind: "post_void",
      original: { saleId: "S-1", kind: "sale" },
      grossMinor: -1396n,
      taxMinor: -55n,
      includedTaxMinor: -55n,
      roundingMinor: 1n,
      tipMinor: -200n,
      serviceChargeMinor: -30n,
      netMinor: -1341n,
      totalMinor: -1425n,
    });
    for (const k of Object.keys(original) as (keyof typeof original)[]) {
      if (typeof original[k] === "bigint") {
        expect((original[k] as bigint) + (voided[k] as bigint), k).toBe(0n);
      }
    }
  });

  it("satisfies the row identity total = gross − discount + charge + added tax + rounding", () => {
    const int = fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n });
    fc.assert(
      fc.property(
        fc.constantFrom(...[0, 1, 2, 3, 4].map((k) => k as TransactionKind)),
        fc.record({
          subtotalMinor: int,
          discountMinor: int,
          taxMinor: int,
          serviceChargeMinor: int,
          includedTaxMinor: int,
          roundingMinor: int,
          tipMinor: int,
        }),
        (kind, t) => {
          const totalMinor =
            t.subtotalMinor - t.discountMinor + t.serviceChargeMinor + t.taxMinor + t.roundingMinor;
          const l = ledger(sale({ kind, totals: { ...t, totalMinor } }));
          expect(l.totalMinor).toBe(
            l.grossMinor -
              l.discountMinor +
              l.serviceChargeMinor +
              (l.taxMinor - l.includedTaxMinor) +
              l.roundingMinor,
          );
          expect(l.netMinor).toBe(l.grossMinor - l.discountMinor - l.includedTaxMinor);
        },
      ),
    );
  });

  it("refuses what validation refuses and a row cannot hold", () => {
    expect(() => ledger(sale({ kind: 9 as TransactionKind }))).toThrow(/sale\.kind/);
    expect(() =>
      ledger(
        sale({
          kind: TransactionKind.RETURN,
          original: { saleId: "x", kind: 7 as TransactionKind },
        }),
      ),
    ).toThrow(/sale\.original\.kind/);
    for (const day of ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-01", " 2026-01-01"]) {
      expect(() => ledger(sale({ businessDay: day })), day).toThrow(/sale\.business_day/);
    }
    expect(ledger(sale({ businessDay: "2028-02-29" })).businessDay).toBe("2028-02-29");
    expect(() =>
      ledger(
        sale({
          payments: [
            { tenderType: TenderType.CASH, amountMinor: 1n },
            { tenderType: 40_000 as TenderType, amountMinor: 1n },
          ],
        }),
      ),
    ).toThrow(/sale\.payments\[1\]\.tender_type: unknown tender type 40000/);
    // A type this build knows but validation refuses (an old row's UNSPECIFIED) is kept as is.
    expect(ledger(sale({ payments: [{ amountMinor: 5n }] })).tenders).toEqual([
      { tenderType: TenderType.UNSPECIFIED, amountMinor: 5n, tipMinor: 0n },
    ]);
  });
});
