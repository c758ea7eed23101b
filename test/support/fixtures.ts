import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Sale, SaleSchema, TenderType } from "../../gen/pos/ingest/v1/sale_pb.js";

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
  let subtotal = 0n;
  let discount = 0n;
  let tax = 0n;
  for (const li of lineItems) {
    subtotal += ((li.unitPriceMinor ?? 0n) * (li.quantityMilli ?? 0n) + 500n) / 1000n;
    discount += li.discountMinor ?? 0n;
    tax += li.taxMinor ?? 0n;
  }
  const total = subtotal - discount + tax;
  return create(SaleSchema, {
    saleId: `sale-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    locationId: "store-7",
    registerId: "till-2",
    source: "acme-pos",
    occurredAt: timestampFromDate(new Date(Date.now() - 60_000)),
    currency: "EUR",
    payments: total > 0n ? [{ tenderType: TenderType.CARD, amountMinor: total }] : [],
    totals: { subtotalMinor: subtotal, discountMinor: discount, taxMinor: tax, totalMinor: total },
    attributes: { channel: "in-store" },
    ...overrides,
    lineItems,
  } as MessageInitShape<typeof SaleSchema>);
}
