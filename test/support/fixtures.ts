import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type IngestRequest, IngestRequestSchema } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";
import { totalsOf } from "../../src/contract/sale-rules.js";

let counter = 0;

/**
 * A valid sale with totals that add up. `overrides` replaces top-level fields as given (totals
 * are computed from the line items unless overridden), so a test states only what it is about.
 */
export function makeSale(overrides: Partial<MessageInitShape<typeof SaleSchema>> = {}): Sale {
  counter++;
  const lineItems = overrides.lineItems ?? [
    {
      sku: "SKU-1",
      name: "Espresso",
      quantityMilli: 2000n,
      unitPriceMinor: 250n,
      discountMinor: 0n,
      taxMinor: 40n,
    },
    {
      sku: "SKU-2",
      name: "Croissant",
      quantityMilli: 1000n,
      unitPriceMinor: 320n,
      discountMinor: 20n,
      taxMinor: 24n,
    },
  ];
  const totals = totalsOf(
    lineItems.map((li) => ({
      quantityMilli: li.quantityMilli ?? 0n,
      unitPriceMinor: li.unitPriceMinor ?? 0n,
      discountMinor: li.discountMinor ?? 0n,
      taxMinor: li.taxMinor ?? 0n,
    })),
  );
  const total = totals.totalMinor;
  return create(SaleSchema, {
    saleId: `sale-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    locationId: "store-7",
    registerId: "till-2",
    source: "acme-pos",
    occurredAt: timestampFromDate(new Date(Date.now() - 60_000)),
    currency: "EUR",
    payments: total > 0n ? [{ tenderType: TenderType.CARD, amountMinor: total }] : [],
    totals,
    attributes: { channel: "in-store" },
    ...overrides,
    lineItems,
  } as MessageInitShape<typeof SaleSchema>);
}

/**
 * The same `n` requests every time it is called with the same prefix (fixed ids and time), so a
 * resend after a failure is a true resend of the same sales.
 */
export async function* fixedSales(prefix: string, n: number): AsyncGenerator<IngestRequest> {
  for (let i = 0; i < n; i++) {
    yield create(IngestRequestSchema, {
      sale: create(SaleSchema, {
        saleId: `${prefix}-${i}`,
        locationId: "store-1",
        registerId: "till-1",
        source: "acme-pos",
        occurredAt: FIXED_TIME,
        currency: "EUR",
        lineItems: [{ sku: "SKU-1", name: "Espresso", quantityMilli: 1000n, unitPriceMinor: 250n }],
        payments: [{ tenderType: TenderType.CASH, amountMinor: 250n }],
        totals: { subtotalMinor: 250n, totalMinor: 250n },
      }),
    });
  }
}

const FIXED_TIME = timestampFromDate(new Date("2026-01-15T12:00:00Z"));
