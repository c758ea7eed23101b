import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  LineKind,
  OriginalTransactionSchema,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";

// The worked receipts of docs/design/sale-model-v2.md (section 2): v2 transactions whose every
// total adds up by the v2 identities, for tests of what is stored and reported. The server's
// validation may not accept all of them yet; tests write them through the repository.

const INCL = TaxMode.INCLUSIVE;
const ADD = TaxMode.ADDITIVE;

function tax(code: string, ratePpm: bigint, amountMinor: bigint, mode: TaxMode) {
  return { code, ratePpm, amountMinor, mode };
}

/** Receipt A: a Berlin bakery, EUR, VAT included, a voided line, on the stated business day. */
export function berlinBakery(occurredAt: Date, businessDay: string): Sale {
  return create(SaleSchema, {
    saleId: "A-1",
    locationId: "berlin-1",
    registerId: "till-1",
    source: "acme-pos",
    occurredAt: timestampFromDate(occurredAt),
    currency: "EUR",
    kind: TransactionKind.SALE,
    businessDay,
    lineItems: [
      {
        sku: "CROISSANT",
        quantityMilli: 2000n,
        unitPriceMinor: 150n,
        taxes: [tax("DE-VAT7", 70_000n, 20n, INCL)],
      },
      {
        sku: "CAPPUCCINO",
        quantityMilli: 1000n,
        unitPriceMinor: 380n,
        discountMinor: 38n,
        taxes: [tax("DE-VAT19", 190_000n, 55n, INCL)],
      },
      {
        sku: "OLIVE-OIL",
        quantityMilli: 1000n,
        unitPriceMinor: 899n,
        taxes: [tax("DE-VAT19", 190_000n, 144n, INCL)],
      },
      {
        sku: "ESPRESSO",
        quantityMilli: 1000n,
        unitPriceMinor: 250n,
        voided: true,
        taxes: [tax("DE-VAT19", 190_000n, 40n, INCL)],
      },
    ],
    payments: [
      { tenderType: TenderType.CARD, amountMinor: 1541n, cardBrand: "visa", cardLast4: "4242" },
    ],
    totals: { subtotalMinor: 1579n, discountMinor: 38n, includedTaxMinor: 219n, totalMinor: 1541n },
  });
}

/** Receipt B: a Chicago store, USD, two added taxes, a basket coupon, a bag fee. */
export function chicagoStore(occurredAt: Date): Sale {
  return create(SaleSchema, {
    saleId: "R-1001",
    locationId: "chicago-1",
    registerId: "pos-3",
    source: "acme-pos",
    occurredAt: timestampFromDate(occurredAt),
    currency: "USD",
    kind: TransactionKind.SALE,
    basketDiscounts: [{ code: "COUPON3", amountMinor: 300n }],
    serviceCharges: [{ code: "BAG", amountMinor: 10n }],
    lineItems: [
      {
        sku: "T-SHIRT",
        quantityMilli: 2000n,
        unitPriceMinor: 1200n,
        taxMinor: 185n,
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 225n }],
        taxes: [tax("US-IL-STATE", 62_500n, 136n, ADD), tax("US-IL-CHI", 22_500n, 49n, ADD)],
        lineId: "1",
      },
      {
        sku: "MUG",
        quantityMilli: 1000n,
        unitPriceMinor: 850n,
        discountMinor: 50n,
        taxMinor: 61n,
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 75n }],
        taxes: [tax("US-IL-STATE", 62_500n, 45n, ADD), tax("US-IL-CHI", 22_500n, 16n, ADD)],
        lineId: "2",
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: 3156n }],
    totals: {
      subtotalMinor: 3250n,
      discountMinor: 350n,
      serviceChargeMinor: 10n,
      taxMinor: 246n,
      totalMinor: 3156n,
    },
  });
}

/** Receipt B's return of the mug, with the receipt (`original` set). */
export function chicagoReturn(original: Sale, occurredAt: Date): Sale {
  return create(SaleSchema, {
    saleId: "R-1002",
    locationId: original.locationId,
    registerId: "pos-3",
    source: original.source,
    occurredAt: timestampFromDate(occurredAt),
    currency: "USD",
    kind: TransactionKind.RETURN,
    original: { saleId: original.saleId, kind: TransactionKind.SALE },
    basketDiscounts: [{ code: "COUPON3", amountMinor: 75n }],
    lineItems: [
      {
        sku: "MUG",
        kind: LineKind.RETURN,
        quantityMilli: 1000n,
        unitPriceMinor: 850n,
        discountMinor: 50n,
        taxMinor: 61n,
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 75n }],
        taxes: [tax("US-IL-STATE", 62_500n, 45n, ADD), tax("US-IL-CHI", 22_500n, 16n, ADD)],
        originalLineId: "2",
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: -786n }],
    totals: { subtotalMinor: -850n, discountMinor: -125n, taxMinor: -61n, totalMinor: -786n },
  });
}

/** Receipt C: a Zürich kiosk, CHF, VAT included, cash with change and 0.05 rounding. */
export function zurichKiosk(occurredAt: Date): Sale {
  return create(SaleSchema, {
    saleId: "K-77",
    locationId: "zurich-1",
    registerId: "kasse-1",
    source: "acme-pos",
    occurredAt: timestampFromDate(occurredAt),
    currency: "CHF",
    kind: TransactionKind.SALE,
    cashRounding: { incrementMinor: 5n, rule: RoundingRule.HALF_UP },
    lineItems: [
      {
        sku: "SANDWICH",
        quantityMilli: 1000n,
        unitPriceMinor: 690n,
        taxes: [tax("CH-VAT2.6", 26_000n, 17n, INCL)],
      },
      {
        sku: "COFFEE",
        quantityMilli: 1000n,
        unitPriceMinor: 420n,
        taxes: [tax("CH-VAT8.1", 81_000n, 31n, INCL)],
      },
      {
        sku: "APPLES",
        quantityMilli: 734n,
        unitPriceMinor: 390n,
        taxes: [tax("CH-VAT2.6", 26_000n, 7n, INCL)],
      },
    ],
    payments: [
      {
        tenderType: TenderType.CASH,
        amountMinor: 1395n,
        tenderedMinor: 2000n,
        changeMinor: 605n,
      },
    ],
    totals: { subtotalMinor: 1396n, includedTaxMinor: 55n, roundingMinor: -1n, totalMinor: 1395n },
  });
}

/** The post-void of `original`: the same body, kind POST_VOID, `original` naming it. */
export function postVoidOf(original: Sale, saleId: string): Sale {
  const kind = original.kind === TransactionKind.UNSPECIFIED ? TransactionKind.SALE : original.kind;
  const v = clone(SaleSchema, original);
  v.saleId = saleId;
  v.kind = TransactionKind.POST_VOID;
  v.original = create(OriginalTransactionSchema, { saleId: original.saleId, kind });
  return v;
}
