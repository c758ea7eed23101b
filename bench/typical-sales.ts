import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  LineKind,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../gen/pos/ingest/v1/sale_pb.js";
import { checkSale } from "../src/contract/check-sale.js";
import { computeTotals } from "../src/contract/sale-rules.js";

/**
 * Typical sales for the decode micro-benchmark, each checked valid by the server's own rules:
 * the v1 sale the load scenarios send (bench/ghz/stream.json), and v2 receipts as POS systems
 * write them.
 */

type SaleInit = MessageInitShape<typeof SaleSchema>;

const OCCURRED_MS = Date.parse("2026-01-15T12:00:00Z");
const HEADER = {
  saleId: "S-2026-0115-000123",
  locationId: "store-7",
  registerId: "till-2",
  source: "bench-pos",
  occurredAt: timestampFromMs(OCCURRED_MS),
} as const;

/** The v1 sale of the stream scenario: two lines, one card payment, one attribute. */
export function v1Sale(): Sale {
  return create(SaleSchema, {
    ...HEADER,
    currency: "EUR",
    lineItems: [
      { sku: "SKU-1", name: "Espresso", quantityMilli: 2000n, unitPriceMinor: 250n, taxMinor: 40n },
      {
        sku: "SKU-2",
        name: "Croissant",
        quantityMilli: 1000n,
        unitPriceMinor: 320n,
        discountMinor: 20n,
        taxMinor: 24n,
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: 864n }],
    totals: { subtotalMinor: 820n, discountMinor: 20n, taxMinor: 64n, totalMinor: 864n },
    attributes: { channel: "in-store" },
  });
}

const vat = (code: string, ratePpm: bigint, amountMinor: bigint) => ({
  code,
  name: `VAT ${Number(ratePpm) / 10_000}%`,
  ratePpm,
  amountMinor,
  mode: TaxMode.INCLUSIVE,
});

/** A German VAT receipt: three lines with one included tax each, a card payment with last4. */
export function vatReceipt(): Sale {
  return withTotals({
    ...HEADER,
    currency: "EUR",
    kind: TransactionKind.SALE,
    businessDay: "2026-01-15",
    cashierId: "cashier-12",
    lineItems: [
      line(1, "Espresso", 2000n, 250n, [vat("DE-VAT19", 190_000n, 80n)]),
      line(2, "Croissant", 1000n, 320n, [vat("DE-VAT7", 70_000n, 21n)]),
      line(3, "Orange juice", 1000n, 390n, [vat("DE-VAT19", 190_000n, 62n)]),
    ],
    payments: [
      { tenderType: TenderType.CARD, amountMinor: 1210n, cardBrand: "visa", cardLast4: "4242" },
    ],
  });
}

const usTax = (code: string, ratePpm: bigint, amountMinor: bigint) => ({
  code,
  name: code,
  ratePpm,
  amountMinor,
  mode: TaxMode.ADDITIVE,
});

/** A US receipt: three lines with state and city sales tax added, a tip, cash with change. */
export function usReceipt(): Sale {
  const taxes = (base: bigint) => [
    usTax("US-IL-STATE", 62_500n, (base * 62_500n + 500_000n) / 1_000_000n),
    usTax("US-IL-CHICAGO", 40_000n, (base * 40_000n + 500_000n) / 1_000_000n),
  ];
  const lines = [
    line(1, "Burger", 1000n, 1299n, taxes(1299n)),
    line(2, "Fries", 1000n, 499n, taxes(499n)),
    line(3, "Soda", 2000n, 299n, taxes(598n)),
  ].map((l) => ({ ...l, taxMinor: l.taxes.reduce((a, t) => a + t.amountMinor, 0n) }));
  const draft = create(SaleSchema, { lineItems: lines });
  const total = computeTotals(draft).totalMinor;
  return withTotals({
    ...HEADER,
    currency: "USD",
    kind: TransactionKind.SALE,
    businessDay: "2026-01-15",
    cashierId: "cashier-3",
    lineItems: lines,
    payments: [
      {
        tenderType: TenderType.CASH,
        amountMinor: total,
        tipMinor: 300n,
        tenderedMinor: 3000n,
        changeMinor: 3000n - total - 300n,
      },
    ],
  });
}

/** A refund of the VAT receipt's first line: negative totals and a negative card tender. */
export function vatReturn(): Sale {
  return withTotals({
    ...HEADER,
    saleId: "S-2026-0115-000124",
    currency: "EUR",
    kind: TransactionKind.RETURN,
    original: { saleId: "S-2026-0115-000123", kind: TransactionKind.SALE },
    businessDay: "2026-01-15",
    lineItems: [
      {
        ...line(1, "Espresso", 2000n, 250n, [vat("DE-VAT19", 190_000n, 80n)]),
        kind: LineKind.RETURN,
        originalLineId: "1",
      },
    ],
    payments: [
      { tenderType: TenderType.CARD, amountMinor: -500n, cardBrand: "visa", cardLast4: "4242" },
    ],
  });
}

function line(
  n: number,
  name: string,
  quantityMilli: bigint,
  unitPriceMinor: bigint,
  taxes: { code: string; name: string; ratePpm: bigint; amountMinor: bigint; mode: TaxMode }[],
) {
  return { sku: `SKU-${n}`, name, quantityMilli, unitPriceMinor, taxes, lineId: `${n}` };
}

/** The sale with the totals its lines and payments add up to; throws if it is not valid. */
function withTotals(init: SaleInit): Sale {
  const sale = create(SaleSchema, init);
  sale.totals = create(SaleSchema, { totals: computeTotals(sale) }).totals;
  const violations = checkSale(sale, { maxLineItems: 500, maxFutureSkewSeconds: 300 }, OCCURRED_MS);
  if (violations.length > 0) {
    throw new Error(`bench sale ${sale.saleId} is invalid: ${JSON.stringify(violations)}`);
  }
  return sale;
}
