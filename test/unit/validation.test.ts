import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  PaymentSchema,
  type Sale,
  type SaleSchema,
  TenderType,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import {
  MAX_AMOUNT_MINOR,
  MAX_ATTRIBUTES,
  MAX_PAYMENTS,
  MAX_QUANTITY_MILLI,
  MIN_OCCURRED_AT_SECONDS,
  type ValidationLimits,
  validateSale,
} from "../../src/ingest/validation.js";
import { makeSale } from "../support/fixtures.js";

type SaleInit = Partial<MessageInitShape<typeof SaleSchema>>;
/** A line item as plain data: every field stated, so spreads and overrides stay well typed. */
interface LineInit {
  sku: string;
  name: string;
  quantityMilli: bigint;
  unitPriceMinor: bigint;
  discountMinor: bigint;
  taxMinor: bigint;
}
type PaymentInit = MessageInitShape<typeof PaymentSchema>;

/** A fixed, whole-second "now" so time rules are tested at their exact edges. */
const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW_SECONDS = BigInt(NOW_MS / 1000);
const LIMITS: ValidationLimits = { maxLineItems: 5, maxFutureSkewSeconds: 300 };

/** A valid sale that happened a minute before NOW_MS; `overrides` replace top-level fields. */
function sale(overrides: SaleInit = {}): Sale {
  return makeSale({ occurredAt: timestampFromDate(new Date(NOW_MS - 60_000)), ...overrides });
}

/** The field paths of the violations, in the order they are reported. */
function fields(s: Sale | undefined, limits = LIMITS, nowMs = NOW_MS): string[] {
  return validateSale(s, limits, nowMs).map((v) => v.field);
}

const GOOD_LINE: LineInit = {
  sku: "SKU-1",
  name: "Espresso",
  quantityMilli: 1000n,
  unitPriceMinor: 250n,
  discountMinor: 0n,
  taxMinor: 0n,
};

/** A sale whose only lines are `lines`, with totals and one card payment stated explicitly. */
function saleWithLines(
  lines: LineInit[],
  totals: { subtotal: bigint; discount: bigint; tax: bigint },
): Sale {
  const total = totals.subtotal - totals.discount + totals.tax;
  return sale({
    lineItems: lines,
    totals: {
      subtotalMinor: totals.subtotal,
      discountMinor: totals.discount,
      taxMinor: totals.tax,
      totalMinor: total,
    },
    payments: total > 0n ? [{ tenderType: TenderType.CARD, amountMinor: total }] : [],
  });
}

/**
 * A sale whose second line is `line` (the first is GOOD_LINE). Totals are left to the fixture and
 * the payment is a token one: a bad line stops the totals check, so only the line is reported.
 */
function saleWithSecondLine(line: Partial<LineInit>): Sale {
  return sale({
    lineItems: [GOOD_LINE, { ...GOOD_LINE, sku: "SKU-2", ...line }],
    payments: [{ tenderType: TenderType.CARD, amountMinor: 1n }],
  });
}

/** The fixture's lines: 2 × 250 and 1 × 320 with a 20 discount; taxes 40 and 24. */
const BASE_TOTALS = { subtotalMinor: 820n, discountMinor: 20n, taxMinor: 64n, totalMinor: 864n };
const BASE_LINES: LineInit[] = [
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

function saleWithTotals(totals: Partial<typeof BASE_TOTALS>, payments?: PaymentInit[]): Sale {
  return sale({
    lineItems: BASE_LINES,
    totals: { ...BASE_TOTALS, ...totals },
    payments: payments ?? [{ tenderType: TenderType.CARD, amountMinor: BASE_TOTALS.totalMinor }],
  });
}

describe("validateSale: the whole sale", () => {
  it("accepts the valid fixture sale", () => {
    expect(validateSale(sale(), LIMITS, NOW_MS)).toEqual([]);
  });

  it("requires a sale", () => {
    expect(validateSale(undefined, LIMITS, NOW_MS)).toEqual([
      { field: "sale", description: "is required" },
    ]);
  });

  it("reports every independent violation at once, in field order", () => {
    const s = sale({ saleId: "", source: "Bad Source", currency: "eur" });
    expect(fields(s)).toEqual(["sale.sale_id", "sale.source", "sale.currency"]);
  });

  it("caps the number of reported violations at 20", () => {
    const lines = Array.from({ length: 30 }, () => ({ ...GOOD_LINE, sku: "" }));
    const v = validateSale(sale({ lineItems: lines }), { ...LIMITS, maxLineItems: 100 }, NOW_MS);
    expect(v).toHaveLength(20);
    expect(v[0]?.field).toBe("sale.line_items[0].sku");
    expect(v[19]?.field).toBe("sale.line_items[19].sku");
  });
});

describe("validateSale: identifiers", () => {
  const idFields = [
    ["sale.sale_id", "saleId"],
    ["sale.location_id", "locationId"],
    ["sale.register_id", "registerId"],
  ] as const;

  describe.each(idFields)("%s", (path, prop) => {
    it("is required", () => {
      expect(validateSale(sale({ [prop]: "" }), LIMITS, NOW_MS)).toEqual([
        { field: path, description: "is required" },
      ]);
    });

    it("accepts 1 and 128 characters", () => {
      expect(fields(sale({ [prop]: "x" }))).toEqual([]);
      expect(fields(sale({ [prop]: "x".repeat(128) }))).toEqual([]);
    });

    it("rejects 129 characters", () => {
      const v = validateSale(sale({ [prop]: "x".repeat(129) }), LIMITS, NOW_MS);
      expect(v).toEqual([{ field: path, description: expect.stringContaining("at most 128") }]);
    });

    it.each([
      ["NUL", "a\u0000b"],
      ["newline", "a\nb"],
      ["tab", "\ta"],
      ["unit separator", "a\u001f"],
      ["DEL", "a\u007fb"],
      ["C1 next-line", "a\u0085b"],
    ])("rejects a %s control character", (_name, value) => {
      const v = validateSale(sale({ [prop]: value }), LIMITS, NOW_MS);
      expect(v).toEqual([{ field: path, description: expect.stringContaining("control") }]);
    });

    it("accepts non-ASCII printable text", () => {
      expect(fields(sale({ [prop]: "café-№7 ü" }))).toEqual([]);
    });
  });
});

describe("validateSale: source", () => {
  it.each(["a", "0", "acme-pos", "square", "x.y_z-1", "a".repeat(64)])("accepts %j", (source) => {
    expect(fields(sale({ source }))).toEqual([]);
  });

  it.each([
    "",
    "Acme",
    "-acme",
    ".acme",
    "_acme",
    "acme pos",
    "acme/pos",
    "acmé",
    "acme\n",
    "a".repeat(65),
  ])("rejects %j", (source) => {
    expect(fields(sale({ source }))).toEqual(["sale.source"]);
  });
});

describe("validateSale: currency", () => {
  it.each(["EUR", "USD", "JPY", "GBP"])("accepts %s", (currency) => {
    expect(fields(sale({ currency }))).toEqual([]);
  });

  it.each(["", "eur", "Eur", "EU", "EURO", "E1R", " EUR"])(
    "rejects the malformed %j",
    (currency) => {
      expect(fields(sale({ currency }))).toEqual(["sale.currency"]);
    },
  );

  it.each(["XXQ", "QQQ"])("rejects %s, well-formed but not an ISO 4217 code", (currency) => {
    expect(fields(sale({ currency }))).toEqual(["sale.currency"]);
  });
});

describe("validateSale: occurred_at", () => {
  const at = (seconds: bigint, nanos = 0) => create(TimestampSchema, { seconds, nanos });

  it("is required", () => {
    expect(validateSale(sale({ occurredAt: undefined }), LIMITS, NOW_MS)).toEqual([
      { field: "sale.occurred_at", description: "is required" },
    ]);
  });

  it("accepts 2000-01-01T00:00:00Z and rejects the second before it", () => {
    expect(fields(sale({ occurredAt: at(MIN_OCCURRED_AT_SECONDS) }))).toEqual([]);
    expect(fields(sale({ occurredAt: at(MIN_OCCURRED_AT_SECONDS - 1n) }))).toEqual([
      "sale.occurred_at",
    ]);
  });

  it("rejects an unset POS clock (the epoch)", () => {
    expect(fields(sale({ occurredAt: at(0n) }))).toEqual(["sale.occurred_at"]);
  });

  it("accepts a time exactly maxFutureSkewSeconds ahead", () => {
    expect(fields(sale({ occurredAt: at(NOW_SECONDS + 300n) }))).toEqual([]);
    expect(fields(sale({ occurredAt: timestampFromDate(new Date(NOW_MS + 300_000)) }))).toEqual([]);
  });

  it("rejects a time one second beyond the skew", () => {
    const v = validateSale(sale({ occurredAt: at(NOW_SECONDS + 301n) }), LIMITS, NOW_MS);
    expect(v).toEqual([
      { field: "sale.occurred_at", description: expect.stringContaining("300s in the future") },
    ]);
  });

  it("takes the skew from the limits", () => {
    const strict = { ...LIMITS, maxFutureSkewSeconds: 0 };
    expect(fields(sale({ occurredAt: at(NOW_SECONDS) }), strict)).toEqual([]);
    expect(fields(sale({ occurredAt: at(NOW_SECONDS + 1n) }), strict)).toEqual([
      "sale.occurred_at",
    ]);
    const lax = { ...LIMITS, maxFutureSkewSeconds: 3600 };
    expect(fields(sale({ occurredAt: at(NOW_SECONDS + 3600n) }), lax)).toEqual([]);
  });

  it("measures the skew from nowMs, not from the wall clock", () => {
    const s = sale({ occurredAt: at(NOW_SECONDS + 400n) });
    expect(fields(s, LIMITS, NOW_MS)).toEqual(["sale.occurred_at"]);
    expect(fields(s, LIMITS, NOW_MS + 100_000)).toEqual([]);
  });

  it("accepts nanos 0 and 999999999", () => {
    expect(fields(sale({ occurredAt: at(NOW_SECONDS - 60n, 0) }))).toEqual([]);
    expect(fields(sale({ occurredAt: at(NOW_SECONDS - 60n, 999_999_999) }))).toEqual([]);
  });

  it.each([-1, 1_000_000_000, 2_000_000_000])("rejects nanos %d", (nanos) => {
    expect(fields(sale({ occurredAt: at(NOW_SECONDS - 60n, nanos) }))).toEqual([
      "sale.occurred_at.nanos",
    ]);
  });
});

describe("validateSale: line items", () => {
  it("requires at least one line", () => {
    expect(
      validateSale(saleWithLines([], { subtotal: 0n, discount: 0n, tax: 0n }), LIMITS, NOW_MS),
    ).toEqual([{ field: "sale.line_items", description: "must have at least one line" }]);
  });

  it("accepts exactly maxLineItems lines and rejects one more", () => {
    const lines = (n: number) => Array.from({ length: n }, () => GOOD_LINE);
    expect(fields(saleWithLines(lines(5), { subtotal: 1250n, discount: 0n, tax: 0n }))).toEqual([]);
    const v = validateSale(
      saleWithLines(lines(6), { subtotal: 1500n, discount: 0n, tax: 0n }),
      LIMITS,
      NOW_MS,
    );
    expect(v).toEqual([{ field: "sale.line_items", description: "must have at most 5 lines" }]);
  });

  it("does not inspect the lines of a sale with too many", () => {
    const bad = Array.from({ length: 6 }, () => ({ ...GOOD_LINE, sku: "" }));
    expect(fields(sale({ lineItems: bad }))).toEqual(["sale.line_items"]);
  });

  it("names the offending line by its index", () => {
    const s = sale({
      lineItems: [GOOD_LINE, GOOD_LINE, { ...GOOD_LINE, quantityMilli: 0n }, GOOD_LINE],
    });
    expect(fields(s)).toEqual(["sale.line_items[2].quantity_milli"]);
  });

  describe("sku and name", () => {
    it("requires a sku of at most 128 characters", () => {
      expect(fields(saleWithSecondLine({ sku: "" }))).toEqual(["sale.line_items[1].sku"]);
      expect(fields(saleWithSecondLine({ sku: "s".repeat(129) }))).toEqual([
        "sale.line_items[1].sku",
      ]);
      expect(
        fields(
          saleWithLines([{ ...GOOD_LINE, sku: "s".repeat(128) }], {
            subtotal: 250n,
            discount: 0n,
            tax: 0n,
          }),
        ),
      ).toEqual([]);
    });

    it("allows an empty name and one of 256 characters, not 257", () => {
      const one = (name: string) =>
        saleWithLines([{ ...GOOD_LINE, name }], { subtotal: 250n, discount: 0n, tax: 0n });
      expect(fields(one(""))).toEqual([]);
      expect(fields(one("n".repeat(256)))).toEqual([]);
      expect(fields(one("n".repeat(257)))).toEqual(["sale.line_items[0].name"]);
    });

    it("rejects control characters in sku and name", () => {
      expect(fields(saleWithSecondLine({ sku: "SKU\u0000" }))).toEqual(["sale.line_items[1].sku"]);
      expect(fields(saleWithSecondLine({ name: "Bread\r\n" }))).toEqual([
        "sale.line_items[1].name",
      ]);
    });
  });

  describe("quantity_milli", () => {
    it.each([
      ["zero", 0n],
      ["negative", -1000n],
      ["over the maximum", MAX_QUANTITY_MILLI + 1n],
    ])("rejects %s", (_name, quantityMilli) => {
      expect(fields(saleWithSecondLine({ quantityMilli }))).toEqual([
        "sale.line_items[1].quantity_milli",
      ]);
    });

    it("accepts 1 and the maximum", () => {
      const one = (q: bigint, subtotal: bigint) =>
        saleWithLines([{ ...GOOD_LINE, quantityMilli: q, unitPriceMinor: 1000n }], {
          subtotal,
          discount: 0n,
          tax: 0n,
        });
      expect(fields(one(1n, 1n))).toEqual([]);
      expect(fields(one(MAX_QUANTITY_MILLI, 1_000_000_000n))).toEqual([]);
    });
  });

  describe("unit_price_minor", () => {
    it.each([
      ["negative", -1n],
      ["over MAX_AMOUNT_MINOR", MAX_AMOUNT_MINOR + 1n],
    ])("rejects %s", (_name, unitPriceMinor) => {
      expect(fields(saleWithSecondLine({ unitPriceMinor }))).toEqual([
        "sale.line_items[1].unit_price_minor",
      ]);
    });

    it("accepts zero (a free item) and exactly MAX_AMOUNT_MINOR", () => {
      const one = (price: bigint) =>
        saleWithLines([{ ...GOOD_LINE, unitPriceMinor: price }], {
          subtotal: price,
          discount: 0n,
          tax: 0n,
        });
      expect(fields(one(0n))).toEqual([]);
      expect(fields(one(MAX_AMOUNT_MINOR))).toEqual([]);
    });
  });

  describe("discount_minor", () => {
    it("may equal the line's amount but not exceed it", () => {
      const one = (discount: bigint) =>
        saleWithLines([{ ...GOOD_LINE, discountMinor: discount }], {
          subtotal: 250n,
          discount,
          tax: 0n,
        });
      expect(fields(one(250n))).toEqual([]);
      expect(validateSale(one(251n), LIMITS, NOW_MS)).toEqual([
        {
          field: "sale.line_items[0].discount_minor",
          description: "must be at most the line's amount",
        },
      ]);
    });

    it("compares against the rounded line amount of a weighed quantity", () => {
      // 1.5 × 333 = 499.5, which rounds half up to 500.
      const one = (discount: bigint) =>
        saleWithLines(
          [{ ...GOOD_LINE, quantityMilli: 1500n, unitPriceMinor: 333n, discountMinor: discount }],
          {
            subtotal: 500n,
            discount,
            tax: 0n,
          },
        );
      expect(fields(one(500n))).toEqual([]);
      expect(fields(one(501n))).toEqual(["sale.line_items[0].discount_minor"]);
    });

    it("rejects a negative discount", () => {
      expect(fields(saleWithSecondLine({ discountMinor: -1n }))).toEqual([
        "sale.line_items[1].discount_minor",
      ]);
    });
  });

  describe("tax_minor", () => {
    it.each([
      ["negative", -1n],
      ["over MAX_AMOUNT_MINOR", MAX_AMOUNT_MINOR + 1n],
    ])("rejects %s", (_name, taxMinor) => {
      expect(fields(saleWithSecondLine({ taxMinor }))).toEqual(["sale.line_items[1].tax_minor"]);
    });

    it("accepts zero", () => {
      expect(
        fields(
          saleWithLines([{ ...GOOD_LINE, taxMinor: 0n }], {
            subtotal: 250n,
            discount: 0n,
            tax: 0n,
          }),
        ),
      ).toEqual([]);
    });
  });

  it("reports each bad field of each bad line", () => {
    const s = sale({
      lineItems: [
        { ...GOOD_LINE, sku: "", taxMinor: -1n },
        GOOD_LINE,
        { ...GOOD_LINE, quantityMilli: -1n, unitPriceMinor: -1n },
      ],
    });
    expect(fields(s)).toEqual([
      "sale.line_items[0].sku",
      "sale.line_items[0].tax_minor",
      "sale.line_items[2].quantity_milli",
      "sale.line_items[2].unit_price_minor",
    ]);
  });
});

describe("validateSale: payments", () => {
  it.each([
    TenderType.CASH,
    TenderType.CARD,
    TenderType.GIFT_CARD,
    TenderType.MOBILE_WALLET,
    TenderType.STORE_CREDIT,
    TenderType.OTHER,
  ])("accepts tender type %d", (tenderType) => {
    expect(fields(saleWithTotals({}, [{ tenderType, amountMinor: 864n }]))).toEqual([]);
  });

  it.each([
    ["unspecified", TenderType.UNSPECIFIED],
    ["unknown", 99 as TenderType],
    ["negative", -1 as TenderType],
  ])("rejects an %s tender type", (_name, tenderType) => {
    expect(fields(saleWithTotals({}, [{ tenderType, amountMinor: 864n }]))).toEqual([
      "sale.payments[0].tender_type",
    ]);
  });

  it.each([
    ["zero", 0n],
    ["negative", -864n],
    ["over MAX_AMOUNT_MINOR", MAX_AMOUNT_MINOR + 1n],
  ])("rejects a %s amount", (_name, amountMinor) => {
    const s = saleWithTotals({}, [
      { tenderType: TenderType.CASH, amountMinor: 864n },
      { tenderType: TenderType.CARD, amountMinor },
    ]);
    expect(fields(s)).toEqual(["sale.payments[1].amount_minor"]);
  });

  it("accepts split payments that add up to the total", () => {
    const s = saleWithTotals({}, [
      { tenderType: TenderType.CASH, amountMinor: 500n },
      { tenderType: TenderType.GIFT_CARD, amountMinor: 300n },
      { tenderType: TenderType.CARD, amountMinor: 64n },
    ]);
    expect(fields(s)).toEqual([]);
  });

  it.each([
    ["short by one", [{ tenderType: TenderType.CARD, amountMinor: 863n }]],
    ["over by one", [{ tenderType: TenderType.CARD, amountMinor: 865n }]],
    [
      "split and short",
      [
        { tenderType: TenderType.CASH, amountMinor: 500n },
        { tenderType: TenderType.CARD, amountMinor: 300n },
      ],
    ],
    ["missing although the total is not zero", []],
  ])("rejects payments %s", (_name, payments: PaymentInit[]) => {
    expect(validateSale(saleWithTotals({}, payments), LIMITS, NOW_MS)).toEqual([
      { field: "sale.payments", description: expect.stringContaining("864") },
    ]);
  });

  it(`accepts ${MAX_PAYMENTS} payments and rejects ${MAX_PAYMENTS + 1}`, () => {
    const withPayments = (n: number) =>
      saleWithLines([{ ...GOOD_LINE, unitPriceMinor: BigInt(n) }], {
        subtotal: BigInt(n),
        discount: 0n,
        tax: 0n,
      });
    const ones = (n: number) =>
      Array.from({ length: n }, () =>
        create(PaymentSchema, { tenderType: TenderType.CASH, amountMinor: 1n }),
      );
    const ok = withPayments(MAX_PAYMENTS);
    ok.payments = ones(MAX_PAYMENTS);
    expect(fields(ok)).toEqual([]);

    const tooMany = withPayments(MAX_PAYMENTS + 1);
    tooMany.payments = ones(MAX_PAYMENTS + 1);
    expect(validateSale(tooMany, LIMITS, NOW_MS)).toEqual([
      { field: "sale.payments", description: "must have at most 100 payments" },
    ]);
  });

  it("accepts a zero-total sale with no payments", () => {
    const free = saleWithLines([{ ...GOOD_LINE, unitPriceMinor: 0n }], {
      subtotal: 0n,
      discount: 0n,
      tax: 0n,
    });
    expect(free.payments).toEqual([]);
    expect(fields(free)).toEqual([]);

    const fullyDiscounted = saleWithLines([{ ...GOOD_LINE, discountMinor: 250n }], {
      subtotal: 250n,
      discount: 250n,
      tax: 0n,
    });
    expect(fullyDiscounted.payments).toEqual([]);
    expect(fields(fullyDiscounted)).toEqual([]);
  });
});

describe("validateSale: totals", () => {
  it("accepts totals that agree with the lines", () => {
    expect(fields(saleWithTotals({}))).toEqual([]);
  });

  it("still checks totals when only a field unrelated to amounts is bad", () => {
    const bad = saleWithTotals({ subtotalMinor: 821n, totalMinor: 865n }, [
      { tenderType: TenderType.CARD, amountMinor: 865n },
    ]);
    bad.source = "Not A Source";
    expect(fields(bad)).toEqual(["sale.source", "sale.totals.subtotal_minor"]);
  });

  it("requires totals", () => {
    expect(validateSale(sale({ totals: undefined }), LIMITS, NOW_MS)).toEqual([
      { field: "sale.totals", description: "is required" },
    ]);
  });

  it("rejects a subtotal that is not the sum of the lines", () => {
    const v = validateSale(
      saleWithTotals({ subtotalMinor: 821n, totalMinor: 865n }, [
        { tenderType: TenderType.CARD, amountMinor: 865n },
      ]),
      LIMITS,
      NOW_MS,
    );
    expect(v).toEqual([
      {
        field: "sale.totals.subtotal_minor",
        description: "is 821 but the sum of the lines is 820",
      },
    ]);
  });

  it("rejects a discount that is not the sum of line discounts", () => {
    const s = saleWithTotals({ discountMinor: 21n, totalMinor: 863n }, [
      { tenderType: TenderType.CARD, amountMinor: 863n },
    ]);
    expect(fields(s)).toEqual(["sale.totals.discount_minor"]);
  });

  it("rejects a tax that is not the sum of line taxes", () => {
    const s = saleWithTotals({ taxMinor: 65n, totalMinor: 865n }, [
      { tenderType: TenderType.CARD, amountMinor: 865n },
    ]);
    expect(fields(s)).toEqual(["sale.totals.tax_minor"]);
  });

  it("rejects a total that is not subtotal - discount + tax", () => {
    const s = saleWithTotals({ totalMinor: 865n }, [
      { tenderType: TenderType.CARD, amountMinor: 865n },
    ]);
    expect(validateSale(s, LIMITS, NOW_MS)).toEqual([
      {
        field: "sale.totals.total_minor",
        description: "is 865 but subtotal - discount + tax is 864",
      },
    ]);
  });

  describe("rounds each weighed line half up to whole minor units", () => {
    const weighed = (quantityMilli: bigint, unitPriceMinor: bigint, subtotal: bigint) =>
      saleWithLines([{ ...GOOD_LINE, quantityMilli, unitPriceMinor }], {
        subtotal,
        discount: 0n,
        tax: 0n,
      });

    it("1.5 × 333 = 499.5 → 500", () => {
      expect(fields(weighed(1500n, 333n, 500n))).toEqual([]);
      expect(fields(weighed(1500n, 333n, 499n))).toEqual(["sale.totals.subtotal_minor"]);
    });

    it("1.499 × 333 = 499.167 → 499", () => {
      expect(fields(weighed(1499n, 333n, 499n))).toEqual([]);
      expect(fields(weighed(1499n, 333n, 500n))).toEqual(["sale.totals.subtotal_minor"]);
    });

    it("0.5 × 1 → 1 and 0.499 × 1 → 0", () => {
      expect(fields(weighed(500n, 1n, 1n))).toEqual([]);
      expect(fields(weighed(500n, 1n, 0n))).toEqual(["sale.totals.subtotal_minor"]);
      expect(fields(weighed(499n, 1n, 0n))).toEqual([]);
    });

    it("rounds per line, then sums", () => {
      const half = { ...GOOD_LINE, quantityMilli: 500n, unitPriceMinor: 1n };
      const two = (subtotal: bigint) =>
        saleWithLines([half, half], { subtotal, discount: 0n, tax: 0n });
      expect(fields(two(2n))).toEqual([]);
      expect(fields(two(1n))).toEqual(["sale.totals.subtotal_minor"]);
    });
  });
});

describe("validateSale: customer", () => {
  const withCustomer = (customer: MessageInitShape<typeof SaleSchema>["customer"]) =>
    sale({ customer });

  it("accepts an empty customer and a full one", () => {
    expect(fields(withCustomer({}))).toEqual([]);
    expect(
      fields(
        withCustomer({
          customerId: "c-42",
          name: "Ada Lovelace",
          email: "ada@example.com",
          phone: "+44 20 7946 0000",
        }),
      ),
    ).toEqual([]);
  });

  it.each([
    ["sale.customer.customer_id", "customerId", 128],
    ["sale.customer.name", "name", 256],
    ["sale.customer.phone", "phone", 64],
  ] as const)("%s allows %s up to %d characters", (path, prop, max) => {
    expect(fields(withCustomer({ [prop]: "x".repeat(max) }))).toEqual([]);
    expect(fields(withCustomer({ [prop]: "x".repeat(max + 1) }))).toEqual([path]);
  });

  it("allows an email of 256 characters, not 257", () => {
    const email = (n: number) => `${"a".repeat(n - "@example.com".length)}@example.com`;
    expect(email(256)).toHaveLength(256);
    expect(fields(withCustomer({ email: email(256) }))).toEqual([]);
    expect(fields(withCustomer({ email: email(257) }))).toEqual(["sale.customer.email"]);
  });

  it.each(["not-an-email", "@example.com", "ada@", "ada lovelace@example.com", "ada@example@com"])(
    "rejects the email %j",
    (email) => {
      expect(validateSale(withCustomer({ email }), LIMITS, NOW_MS)).toEqual([
        { field: "sale.customer.email", description: "is not an email address" },
      ]);
    },
  );

  it("rejects control characters in customer fields", () => {
    expect(fields(withCustomer({ name: "Ada\u0007" }))).toEqual(["sale.customer.name"]);
    expect(fields(withCustomer({ customerId: "c\n42" }))).toEqual(["sale.customer.customer_id"]);
  });
});

describe("validateSale: attributes", () => {
  const attrs = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));

  it(`accepts ${MAX_ATTRIBUTES} entries and rejects ${MAX_ATTRIBUTES + 1}`, () => {
    expect(fields(sale({ attributes: attrs(MAX_ATTRIBUTES) }))).toEqual([]);
    expect(validateSale(sale({ attributes: attrs(MAX_ATTRIBUTES + 1) }), LIMITS, NOW_MS)).toEqual([
      { field: "sale.attributes", description: "must have at most 64 entries" },
    ]);
  });

  it("accepts no attributes", () => {
    expect(fields(sale({ attributes: {} }))).toEqual([]);
  });

  it("rejects an empty key", () => {
    expect(fields(sale({ attributes: { "": "x" } }))).toEqual(['sale.attributes[""]']);
  });

  it("allows a key of 64 characters, not 65", () => {
    const k64 = "k".repeat(64);
    const k65 = "k".repeat(65);
    expect(fields(sale({ attributes: { [k64]: "x" } }))).toEqual([]);
    expect(validateSale(sale({ attributes: { [k65]: "x" } }), LIMITS, NOW_MS)).toEqual([
      { field: `sale.attributes["${k65}"]`, description: "key must be at most 64 characters" },
    ]);
  });

  it("allows a value of 1024 characters (or none), not 1025", () => {
    expect(fields(sale({ attributes: { note: "" } }))).toEqual([]);
    expect(fields(sale({ attributes: { note: "v".repeat(1024) } }))).toEqual([]);
    expect(validateSale(sale({ attributes: { note: "v".repeat(1025) } }), LIMITS, NOW_MS)).toEqual([
      { field: 'sale.attributes["note"]', description: "value must be at most 1024 characters" },
    ]);
  });

  it("rejects control characters in keys and values, quoting the key in the path", () => {
    expect(fields(sale({ attributes: { note: "a\u0000" } }))).toEqual(['sale.attributes["note"]']);
    expect(fields(sale({ attributes: { "a\tb": "x" } }))).toEqual(['sale.attributes["a\\tb"]']);
  });
});
