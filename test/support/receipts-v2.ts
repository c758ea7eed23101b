/**
 * The worked receipts of docs/design/sale-model-v2.md §2 (and a few more kinds) as `Sale`
 * messages, each valid under the v2 rules. Totals are stated literally, as the design prints them,
 * so a test that they validate also checks the rules against the design's arithmetic.
 */
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  LineKind,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";

const { INCLUSIVE, ADDITIVE } = TaxMode;

/** Where and when a receipt happened; ids default to fresh ones so e2e tests do not collide. */
export interface ReceiptOptions {
  readonly saleId?: string;
  readonly occurredAt?: Date;
  /** The POS's business day; default the UTC date of `occurredAt`, "" for none stated. */
  readonly businessDay?: string;
}

let counter = 0;

function base(currency: string, location: string, o: ReceiptOptions) {
  counter++;
  const at = o.occurredAt ?? new Date(Date.now() - 60_000);
  return {
    saleId: o.saleId ?? `v2-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    locationId: location,
    registerId: "till-1",
    source: "acme-pos",
    occurredAt: timestampFromDate(at),
    businessDay: o.businessDay ?? at.toISOString().slice(0, 10),
    currency,
    cashierId: "cashier-17",
  };
}

/** A: Berlin bakery, EUR, VAT included, a voided line, paid by card. Total 1541. */
export function berlinBakery(o: ReceiptOptions = {}): Sale {
  return create(SaleSchema, {
    ...base("EUR", "berlin-1", o),
    lineRounding: RoundingRule.HALF_UP,
    lineItems: [
      {
        sku: "CRO",
        name: "Croissant",
        quantityMilli: 2000n,
        unitPriceMinor: 150n,
        lineId: "1",
        taxes: [{ code: "DE-VAT7", ratePpm: 70_000n, amountMinor: 20n, mode: INCLUSIVE }],
      },
      {
        sku: "CAP",
        name: "Cappuccino",
        quantityMilli: 1000n,
        unitPriceMinor: 380n,
        discountMinor: 38n,
        lineId: "2",
        taxes: [{ code: "DE-VAT19", ratePpm: 190_000n, amountMinor: 55n, mode: INCLUSIVE }],
      },
      {
        sku: "OIL",
        name: "Olive oil",
        quantityMilli: 1000n,
        unitPriceMinor: 899n,
        lineId: "3",
        taxes: [{ code: "DE-VAT19", ratePpm: 190_000n, amountMinor: 144n, mode: INCLUSIVE }],
      },
      {
        sku: "ESP",
        name: "Espresso",
        quantityMilli: 1000n,
        unitPriceMinor: 250n,
        voided: true,
        lineId: "4",
        taxes: [{ code: "DE-VAT19", ratePpm: 190_000n, amountMinor: 40n, mode: INCLUSIVE }],
      },
    ],
    payments: [
      { tenderType: TenderType.CARD, amountMinor: 1541n, cardBrand: "visa", cardLast4: "4242" },
    ],
    totals: {
      subtotalMinor: 1579n,
      discountMinor: 38n,
      includedTaxMinor: 219n,
      totalMinor: 1541n,
    },
  });
}

function usTaxes(state: bigint, city: bigint) {
  return [
    { code: "US-IL-STATE", name: "Illinois", ratePpm: 62_500n, amountMinor: state, mode: ADDITIVE },
    { code: "US-IL-CHI", name: "Chicago", ratePpm: 22_500n, amountMinor: city, mode: ADDITIVE },
  ];
}

/** B: Chicago store, USD, two added taxes, a basket coupon, a bag fee. Total 3156. */
export function chicagoStore(o: ReceiptOptions = {}): Sale {
  return create(SaleSchema, {
    ...base("USD", "chicago-1", o),
    basketDiscounts: [{ code: "COUPON3", name: "$3 off", amountMinor: 300n }],
    serviceCharges: [{ code: "BAG", name: "Bag fee", amountMinor: 10n }],
    lineItems: [
      {
        sku: "TSHIRT-BLUE",
        name: "T-shirt, blue",
        quantityMilli: 2000n,
        unitPriceMinor: 1200n,
        taxMinor: 185n,
        lineId: "1",
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 225n }],
        taxes: usTaxes(136n, 49n),
      },
      {
        sku: "MUG",
        name: "Mug",
        quantityMilli: 1000n,
        unitPriceMinor: 850n,
        discountMinor: 50n,
        taxMinor: 61n,
        lineId: "2",
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 75n }],
        taxes: usTaxes(45n, 16n),
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: 3156n, cardBrand: "visa" }],
    totals: {
      subtotalMinor: 3250n,
      discountMinor: 350n,
      serviceChargeMinor: 10n,
      taxMinor: 246n,
      totalMinor: 3156n,
    },
  });
}

/** B's mug returned: with `originalSaleId` a return with receipt, without one a blind return. */
export function chicagoReturn(o: ReceiptOptions & { originalSaleId?: string } = {}): Sale {
  const withReceipt = o.originalSaleId !== undefined;
  return create(SaleSchema, {
    ...base("USD", "chicago-1", o),
    kind: TransactionKind.RETURN,
    ...(withReceipt ? { original: { saleId: o.originalSaleId, kind: TransactionKind.SALE } } : {}),
    basketDiscounts: [{ code: "COUPON3", amountMinor: 75n }],
    lineItems: [
      {
        sku: "MUG",
        name: "Mug",
        kind: LineKind.RETURN,
        quantityMilli: 1000n,
        unitPriceMinor: 850n,
        discountMinor: 50n,
        taxMinor: 61n,
        lineId: "1",
        originalLineId: withReceipt ? "2" : "",
        appliedDiscounts: [{ discountIndex: 0, amountMinor: 75n }],
        taxes: usTaxes(45n, 16n),
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: -786n, cardBrand: "visa" }],
    totals: { subtotalMinor: -850n, discountMinor: -125n, taxMinor: -61n, totalMinor: -786n },
  });
}

/** C: Zürich kiosk, CHF, VAT included, cash with change and rounding to 0.05. Total 1395. */
export function zurichKiosk(o: ReceiptOptions = {}): Sale {
  const vat = (code: string, ratePpm: bigint, amountMinor: bigint) => [
    { code, ratePpm, amountMinor, mode: INCLUSIVE },
  ];
  return create(SaleSchema, {
    ...base("CHF", "zurich-1", o),
    cashRounding: { incrementMinor: 5n, rule: RoundingRule.HALF_UP },
    lineItems: [
      {
        sku: "SANDWICH",
        name: "Sandwich",
        quantityMilli: 1000n,
        unitPriceMinor: 690n,
        taxes: vat("CH-VAT2.6", 26_000n, 17n),
      },
      {
        sku: "COFFEE",
        name: "Kaffee",
        quantityMilli: 1000n,
        unitPriceMinor: 420n,
        taxes: vat("CH-VAT8.1", 81_000n, 31n),
      },
      {
        sku: "APPLES",
        name: "Äpfel (kg)",
        quantityMilli: 734n,
        unitPriceMinor: 390n,
        taxes: vat("CH-VAT2.6", 26_000n, 7n),
      },
    ],
    payments: [
      { tenderType: TenderType.CASH, amountMinor: 1395n, tenderedMinor: 2000n, changeMinor: 605n },
    ],
    totals: {
      subtotalMinor: 1396n,
      includedTaxMinor: 55n,
      roundingMinor: -1n,
      totalMinor: 1395n,
    },
  });
}

/** The post-void of `original`: the same body, kind POST_VOID, `original` naming it and its kind. */
export function postVoidOf(original: Sale, o: ReceiptOptions = {}): Sale {
  const b = base(original.currency, original.locationId, o);
  const v = clone(SaleSchema, original);
  v.saleId = b.saleId;
  v.kind = TransactionKind.POST_VOID;
  v.original = create(SaleSchema, {
    original: {
      saleId: original.saleId,
      kind: original.kind === TransactionKind.UNSPECIFIED ? TransactionKind.SALE : original.kind,
    },
  }).original;
  return v;
}

/** An exchange in Berlin: a shirt returned (29.99), a dearer one sold (39.99); 10.00 paid by card. */
export function berlinExchange(o: ReceiptOptions & { originalSaleId?: string } = {}): Sale {
  return create(SaleSchema, {
    ...base("EUR", "berlin-1", o),
    kind: TransactionKind.EXCHANGE,
    original: { saleId: o.originalSaleId ?? "B-0815", kind: TransactionKind.SALE },
    lineItems: [
      {
        sku: "SHIRT-M",
        name: "Shirt M",
        kind: LineKind.RETURN,
        quantityMilli: 1000n,
        unitPriceMinor: 2999n,
        originalLineId: "1",
        taxes: [{ code: "DE-VAT19", ratePpm: 190_000n, amountMinor: 479n, mode: INCLUSIVE }],
      },
      {
        sku: "SHIRT-L-PREMIUM",
        name: "Shirt L premium",
        kind: LineKind.SALE,
        quantityMilli: 1000n,
        unitPriceMinor: 3999n,
        taxes: [{ code: "DE-VAT19", ratePpm: 190_000n, amountMinor: 638n, mode: INCLUSIVE }],
      },
    ],
    payments: [{ tenderType: TenderType.CARD, amountMinor: 1000n, cardBrand: "mastercard" }],
    totals: { subtotalMinor: 1000n, includedTaxMinor: 159n, totalMinor: 1000n },
  });
}

/** A Chicago restaurant check: two added taxes, a 4.00 tip on the card. Total 2388, tip 400. */
export function restaurantWithTip(o: ReceiptOptions = {}): Sale {
  return create(SaleSchema, {
    ...base("USD", "chicago-diner", o),
    lineItems: [
      {
        sku: "BURGER",
        name: "Burger",
        quantityMilli: 1000n,
        unitPriceMinor: 1500n,
        taxMinor: 128n,
        taxes: usTaxes(94n, 34n),
      },
      {
        sku: "BEER",
        name: "Beer",
        quantityMilli: 1000n,
        unitPriceMinor: 700n,
        taxMinor: 60n,
        taxes: usTaxes(44n, 16n),
      },
    ],
    payments: [
      {
        tenderType: TenderType.CARD,
        amountMinor: 2388n,
        tipMinor: 400n,
        cardBrand: "mastercard",
        cardLast4: "5555",
      },
    ],
    totals: { subtotalMinor: 2200n, taxMinor: 188n, totalMinor: 2388n, tipMinor: 400n },
  });
}

/** Every receipt above, by name, each valid as built. */
export function allReceipts(o: ReceiptOptions = {}): Record<string, Sale> {
  const c = zurichKiosk(o);
  return {
    "A Berlin VAT included, voided line": berlinBakery(o),
    "B Chicago two added taxes, coupon, bag fee": chicagoStore(o),
    "B's return with receipt": chicagoReturn({ ...o, originalSaleId: "R-1001" }),
    "B's return without receipt": chicagoReturn(o),
    "C Zürich cash rounding with change": c,
    "C's post-void": postVoidOf(c, o),
    "an exchange": berlinExchange(o),
    "a restaurant check with tip": restaurantWithTip(o),
  };
}
