import { clone, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  LineKind,
  LineTaxSchema,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkSale } from "../../src/contract/check-sale.js";
import { computeTotals } from "../../src/contract/sale-rules.js";
import { PAN_TEXT } from "../../src/contract/violations.js";
import {
  allReceipts,
  berlinBakery,
  berlinExchange,
  chicagoReturn,
  chicagoStore,
  postVoidOf,
  type ReceiptOptions,
  restaurantWithTip,
  zurichKiosk,
} from "../support/receipts-v2.js";

const LIMITS = { maxLineItems: 500, maxFutureSkewSeconds: 300 };
const AT = new Date("2026-12-01T10:15:00Z");
const NOW_MS = AT.getTime() + 3_600_000;
const OPTS: ReceiptOptions = { occurredAt: AT, saleId: "R-1001" };

function violations(sale: Sale) {
  return checkSale(sale, LIMITS, NOW_MS);
}
function fields(sale: Sale): string[] {
  return violations(sale).map((v) => v.field);
}
/** A receipt changed by `change`: the change is all a test states. */
function changed(make: (o: ReceiptOptions) => Sale, change: (s: Sale) => void): Sale {
  const s = make(OPTS);
  change(s);
  return s;
}
function totalsOf(s: Sale) {
  return s.totals as NonNullable<Sale["totals"]>;
}
function line(s: Sale, i: number) {
  const l = s.lineItems[i];
  if (!l) throw new Error(`no line ${i}`);
  return l;
}
function tax(s: Sale, i: number, t: number) {
  const x = line(s, i).taxes[t];
  if (!x) throw new Error(`no tax ${t} on line ${i}`);
  return x;
}
function payment(s: Sale, i: number) {
  const p = s.payments[i];
  if (!p) throw new Error(`no payment ${i}`);
  return p;
}

describe("the design's worked receipts", () => {
  it.each(Object.entries(allReceipts(OPTS)))("%s is valid", (_, sale) => {
    expect(violations(sale)).toEqual([]);
  });

  it.each(Object.entries(allReceipts(OPTS)))(
    "%s states the totals computeTotals computes",
    (_, sale) => {
      const { $typeName: _t, ...stated } = totalsOf(sale);
      expect(computeTotals(sale)).toEqual(stated);
    },
  );

  it("prints the design's totals", () => {
    expect(totalsOf(berlinBakery(OPTS)).totalMinor).toBe(1541n);
    expect(totalsOf(chicagoStore(OPTS)).totalMinor).toBe(3156n);
    expect(totalsOf(chicagoReturn(OPTS)).totalMinor).toBe(-786n);
    expect(totalsOf(zurichKiosk(OPTS)).totalMinor).toBe(1395n);
    expect(totalsOf(zurichKiosk(OPTS)).roundingMinor).toBe(-1n);
  });
});

describe("I1: line amounts", () => {
  it("a sub-minor unit price (fuel) is valid when the subtotal follows it", () => {
    const s = changed(chicagoStore, (s) => {
      s.basketDiscounts = [];
      s.serviceCharges = [];
      s.lineItems = [
        create(SaleSchema, {
          lineItems: [
            {
              sku: "FUEL-REG",
              name: "Regular",
              quantityMilli: 40_000n,
              unitPriceScaled: 1799n,
              unitPriceScale: 1,
            },
          ],
        }).lineItems[0] as Sale["lineItems"][number],
      ];
      s.totals = create(SaleSchema, {
        totals: { subtotalMinor: 7196n, totalMinor: 7196n },
      }).totals;
      payment(s, 0).amountMinor = 7196n;
    });
    expect(violations(s)).toEqual([]);
    line(s, 0).unitPriceScale = 2;
    expect(fields(s)).toEqual(["sale.totals.subtotal_minor"]);
    line(s, 0).unitPriceScale = 7;
    expect(fields(s)).toEqual(["sale.line_items[0].unit_price_scale"]);
    line(s, 0).unitPriceScale = 1;
    line(s, 0).unitPriceMinor = 180n;
    expect(fields(s)).toEqual(["sale.line_items[0].unit_price_minor"]);
    line(s, 0).unitPriceMinor = 0n;
    line(s, 0).unitPriceScale = 0;
    expect(fields(s)).toEqual(["sale.line_items[0].unit_price_scaled"]);
  });

  it("rounds line amounts by line_rounding", () => {
    // 734 g at 390 is 286.26: DOWN keeps 286, UP makes it 287 (and the subtotal disagrees).
    const down = changed(zurichKiosk, (s) => {
      s.lineRounding = RoundingRule.DOWN;
    });
    expect(violations(down)).toEqual([]);
    const up = changed(zurichKiosk, (s) => {
      s.lineRounding = RoundingRule.UP;
    });
    expect(fields(up)).toEqual(["sale.totals.subtotal_minor"]);
    const unknown = changed(zurichKiosk, (s) => {
      s.lineRounding = 9 as RoundingRule;
    });
    expect(fields(unknown)).toEqual(["sale.line_rounding"]);
  });
});

describe("I2, I4: discounts and their allocation", () => {
  it("a line discount above the line's amount names discount_minor", () => {
    const s = changed(berlinBakery, (s) => {
      line(s, 1).discountMinor = 381n;
    });
    expect(fields(s)).toEqual(["sale.line_items[1].discount_minor"]);
  });

  it("a line discount plus basket shares above the amount names discount_minor", () => {
    const s = changed(chicagoStore, (s) => {
      line(s, 1).discountMinor = 800n; // 800 + 75 > 850
    });
    expect(fields(s)).toEqual(["sale.line_items[1].discount_minor"]);
  });

  it("shares that do not add up to the basket discount name its amount", () => {
    const s = changed(chicagoStore, (s) => {
      (s.basketDiscounts[0] as { amountMinor: bigint }).amountMinor = 301n;
    });
    expect(fields(s)).toEqual(["sale.basket_discounts[0].amount_minor"]);
  });

  it.each([
    ["an index past the discounts", 1, 75n, "discount_index"],
    ["a share of 0", 0, 0n, "amount_minor"],
  ] as const)("%s names the applied discount's %s", (_, index, amount, field) => {
    const s = changed(chicagoStore, (s) => {
      const a = line(s, 1).appliedDiscounts[0] as { discountIndex: number; amountMinor: bigint };
      a.discountIndex = index;
      a.amountMinor = amount;
    });
    expect(fields(s)).toEqual([`sale.line_items[1].applied_discounts[0].${field}`]);
  });

  it("the same discount twice on a line names the second", () => {
    const s = changed(chicagoStore, (s) => {
      const l = line(s, 1);
      l.appliedDiscounts = [...l.appliedDiscounts, ...l.appliedDiscounts];
    });
    expect(fields(s)).toEqual(["sale.line_items[1].applied_discounts[1].discount_index"]);
  });

  it("a share on a voided line is refused", () => {
    const s = changed(chicagoStore, (s) => {
      line(s, 1).voided = true;
    });
    expect(fields(s)).toEqual(["sale.line_items[1].applied_discounts"]);
  });

  it("basket discount codes are unique and bounded", () => {
    const s = changed(chicagoStore, (s) => {
      const d = s.basketDiscounts[0] as Sale["basketDiscounts"][number];
      s.basketDiscounts = [d, { ...d, amountMinor: 1n }];
    });
    expect(fields(s)).toEqual(["sale.basket_discounts[1].code"]);
    const long = changed(chicagoStore, (s) => {
      (s.basketDiscounts[0] as { code: string }).code = "C".repeat(65);
    });
    expect(fields(long)).toEqual(["sale.basket_discounts[0].code"]);
  });
});

describe("I5-I7: taxes", () => {
  it("an included tax more than one unit off its rate names its amount", () => {
    const s = changed(berlinBakery, (s) => {
      tax(s, 0, 0).amountMinor = 22n; // exact 19.63
    });
    expect(violations(s)).toEqual([
      {
        field: "sale.line_items[0].taxes[0].amount_minor",
        description: "is 22 but 70000 ppm included in 300 is 20 (±1)",
      },
    ]);
  });

  it("an included tax one unit off is accepted (what comes from a rate is ±1)", () => {
    const s = changed(berlinBakery, (s) => {
      tax(s, 0, 0).amountMinor = 19n;
      totalsOf(s).includedTaxMinor = 218n;
    });
    expect(violations(s)).toEqual([]);
  });

  it("included taxes above the base name the tax that passes it", () => {
    const s = changed(berlinBakery, (s) => {
      const t = tax(s, 0, 0);
      t.ratePpm = 0n; // not stated: only the bound applies
      t.amountMinor = 301n;
    });
    expect(fields(s)).toEqual(["sale.line_items[0].taxes[0].amount_minor"]);
  });

  it("an added tax more than one unit off names its amount", () => {
    const s = changed(chicagoStore, (s) => {
      tax(s, 0, 0).amountMinor = 138n;
      line(s, 0).taxMinor = 187n;
      totalsOf(s).taxMinor = 248n;
      totalsOf(s).totalMinor = 3158n;
      payment(s, 0).amountMinor = 3158n;
    });
    expect(fields(s)).toEqual(["sale.line_items[0].taxes[0].amount_minor"]);
  });

  it("a line's tax_minor must be the sum of its added taxes", () => {
    const s = changed(chicagoStore, (s) => {
      line(s, 0).taxMinor = 186n;
    });
    expect(violations(s)).toEqual([
      {
        field: "sale.line_items[0].tax_minor",
        description: "is 186 but the sum of its added taxes is 185",
      },
    ]);
  });

  it("a tax needs a mode, a code and a rate in range; at most 8 per line", () => {
    const s = changed(berlinBakery, (s) => {
      const t = tax(s, 0, 0);
      t.mode = TaxMode.UNSPECIFIED;
      t.code = "";
      t.ratePpm = 10_000_001n;
    });
    expect(fields(s)).toEqual([
      "sale.line_items[0].taxes[0].code",
      "sale.line_items[0].taxes[0].rate_ppm",
      "sale.line_items[0].taxes[0].mode",
    ]);
    const many = changed(berlinBakery, (s) => {
      line(s, 0).taxes = Array.from({ length: 9 }, (_, i) =>
        create(LineTaxSchema, { code: `T${i}`, mode: TaxMode.INCLUSIVE }),
      );
    });
    expect(fields(many)).toEqual(["sale.line_items[0].taxes"]);
  });

  it("a tax on a charge is checked like a line's", () => {
    const s = changed(chicagoStore, (s) => {
      const bag = s.serviceCharges[0] as Sale["serviceCharges"][number];
      bag.taxes = [
        create(LineTaxSchema, {
          code: "US-IL-STATE",
          ratePpm: 62_500n,
          amountMinor: 5n,
          mode: TaxMode.ADDITIVE,
        }),
      ];
    });
    expect(fields(s)).toEqual(["sale.service_charges[0].taxes[0].amount_minor"]);
    const taxed = changed(chicagoStore, (s) => {
      const bag = s.serviceCharges[0] as Sale["serviceCharges"][number];
      bag.taxes = [
        create(LineTaxSchema, {
          code: "US-IL-STATE",
          ratePpm: 62_500n,
          amountMinor: 1n,
          mode: TaxMode.ADDITIVE,
        }),
      ];
      totalsOf(s).taxMinor += 1n;
      totalsOf(s).totalMinor += 1n;
      payment(s, 0).amountMinor += 1n;
    });
    expect(violations(taxed)).toEqual([]);
  });
});

describe("I8-I12: totals and payments", () => {
  const receipts = Object.entries(allReceipts(OPTS));
  const totalFields = [
    "subtotalMinor",
    "discountMinor",
    "serviceChargeMinor",
    "taxMinor",
    "includedTaxMinor",
    "totalMinor",
    "roundingMinor",
    "tipMinor",
  ] as const;
  const snake = (f: string) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

  for (const [name, sale] of receipts) {
    it.each(totalFields)(`${name}: %s ±1 is refused naming it`, (f) => {
      for (const d of [1n, -1n]) {
        const s = clone(SaleSchema, sale);
        totalsOf(s)[f] += d;
        const got = fields(s);
        if (f === "roundingMinor" && s.cashRounding === undefined) {
          // Without cash rounding the adjustment must be 0; then the total disagrees too.
          expect(got).toContain("sale.totals.rounding_minor");
        } else {
          expect(got[0]).toBe(`sale.totals.${snake(f)}`);
        }
      }
    });
  }

  it("payments that do not add up to the total name sale.payments", () => {
    const s = changed(restaurantWithTip, (s) => {
      payment(s, 0).amountMinor -= 1n;
    });
    expect(fields(s)).toEqual(["sale.payments"]);
  });

  it("tips that do not add up name sale.totals.tip_minor", () => {
    const s = changed(restaurantWithTip, (s) => {
      payment(s, 0).tipMinor = 350n;
    });
    expect(fields(s)).toEqual(["sale.totals.tip_minor"]);
  });
});

describe("I11: cash rounding", () => {
  it("an adjustment the rule does not give names rounding_minor", () => {
    const s = changed(zurichKiosk, (s) => {
      s.cashRounding = {
        ...(s.cashRounding as NonNullable<Sale["cashRounding"]>),
        rule: RoundingRule.UP,
      };
    });
    expect(violations(s)).toEqual([
      {
        field: "sale.totals.rounding_minor",
        description: "is -1 but rounding the cash due 1396 to 5 is 4",
      },
    ]);
  });

  it("the POS's own rule only bounds the adjustment by the increment", () => {
    const own = (r: bigint) =>
      changed(zurichKiosk, (s) => {
        (s.cashRounding as { rule: RoundingRule }).rule = RoundingRule.UNSPECIFIED;
        totalsOf(s).roundingMinor = r;
        totalsOf(s).totalMinor = 1396n + r;
        payment(s, 0).amountMinor = 1396n + r;
        payment(s, 0).changeMinor = 2000n - 1396n - r;
      });
    expect(fields(own(4n))).toEqual([]);
    expect(fields(own(9n))).toContain("sale.totals.rounding_minor");
  });

  it("cash amounts must be a multiple of the increment", () => {
    const s = changed(zurichKiosk, (s) => {
      s.cashRounding = undefined;
      totalsOf(s).roundingMinor = 0n;
      totalsOf(s).totalMinor = 1396n;
      payment(s, 0).amountMinor = 1396n;
      payment(s, 0).changeMinor = 604n;
    });
    expect(violations(s)).toEqual([]);
    s.cashRounding = create(SaleSchema, {
      cashRounding: { incrementMinor: 5n, rule: RoundingRule.HALF_UP },
    }).cashRounding;
    expect(fields(s)).toEqual(["sale.payments", "sale.totals.rounding_minor"]);
  });

  it("without cash_rounding the adjustment is 0; the increment is bounded", () => {
    const s = changed(zurichKiosk, (s) => {
      s.cashRounding = undefined;
    });
    expect(fields(s)).toEqual(["sale.totals.rounding_minor"]);
    const bad = changed(zurichKiosk, (s) => {
      (s.cashRounding as { incrementMinor: bigint }).incrementMinor = 1n;
    });
    expect(fields(bad)).toEqual(["sale.cash_rounding.increment_minor"]);
  });
});

describe("I13: tendered and change", () => {
  it("change that is not tendered - amount - tip names change_minor", () => {
    const s = changed(zurichKiosk, (s) => {
      payment(s, 0).changeMinor = 604n;
    });
    expect(violations(s)).toEqual([
      {
        field: "sale.payments[0].change_minor",
        description: "is 604 but tendered_minor - amount_minor - tip_minor is 605",
      },
    ]);
  });

  it("change without tendered, and tendered on a card, are refused", () => {
    const s = changed(zurichKiosk, (s) => {
      payment(s, 0).tenderedMinor = 0n;
    });
    expect(fields(s)).toEqual(["sale.payments[0].change_minor"]);
    const card = changed(berlinBakery, (s) => {
      payment(s, 0).tenderedMinor = 2000n;
    });
    expect(fields(card)).toEqual(["sale.payments[0].tendered_minor"]);
  });
});

describe("signs per kind", () => {
  it("a sale has no return lines and no original", () => {
    expect(
      fields(
        changed(berlinBakery, (s) => {
          line(s, 0).kind = LineKind.RETURN;
        }),
      ),
    ).toEqual(["sale.line_items[0].kind"]);
    const withOriginal = changed(berlinBakery, (s) => {
      s.original = chicagoReturn({ ...OPTS, originalSaleId: "X" }).original;
    });
    expect(fields(withOriginal)).toEqual(["sale.original"]);
  });

  it("a return has return lines only, refund tenders, and no cash change", () => {
    expect(
      fields(
        changed(chicagoReturn, (s) => {
          line(s, 0).kind = LineKind.SALE;
        }),
      ),
    ).toEqual(["sale.line_items[0].kind"]);
    expect(
      fields(
        changed(chicagoReturn, (s) => {
          payment(s, 0).amountMinor = 786n;
        }),
      ),
    ).toEqual(["sale.payments[0].amount_minor"]);
    expect(
      fields(
        changed(chicagoReturn, (s) => {
          payment(s, 0).tipMinor = 1n;
        }),
      ),
    ).toEqual(["sale.payments[0].tip_minor"]);
    expect(
      fields(
        changed(chicagoReturn, (s) => {
          payment(s, 0).tenderType = TenderType.CASH;
          payment(s, 0).cardBrand = "";
          payment(s, 0).changeMinor = 14n;
        }),
      ),
    ).toEqual(["sale.payments[0].change_minor"]);
  });

  it("a return refers to a sale or an exchange, and a return line's original line needs it", () => {
    const ofReturn = changed(
      (o) => chicagoReturn({ ...o, originalSaleId: "R-1001" }),
      (s) => {
        (s.original as { kind: TransactionKind }).kind = TransactionKind.RETURN;
      },
    );
    expect(fields(ofReturn)).toEqual(["sale.original.kind"]);
    const noId = changed(
      (o) => chicagoReturn({ ...o, originalSaleId: "R-1001" }),
      (s) => {
        (s.original as { saleId: string }).saleId = "";
      },
    );
    expect(fields(noId)).toEqual(["sale.original.sale_id"]);
    const blind = changed(chicagoReturn, (s) => {
      line(s, 0).originalLineId = "2";
    });
    expect(fields(blind)).toEqual(["sale.line_items[0].original_line_id"]);
  });

  it("an exchange has sold and returned lines and no zero tender", () => {
    expect(violations(berlinExchange(OPTS))).toEqual([]);
    const oneSided = changed(berlinExchange, (s) => {
      line(s, 0).voided = true;
    });
    expect(fields(oneSided)).toContain("sale.line_items");
    const zero = changed(berlinExchange, (s) => {
      payment(s, 0).amountMinor = 0n;
    });
    expect(fields(zero)).toEqual(["sale.payments[0].amount_minor"]);
  });

  it("an exchange may refund: a negative total, a refund tender", () => {
    const refund = changed(berlinExchange, (s) => {
      // The dearer shirt is returned, the cheaper one taken.
      line(s, 0).unitPriceMinor = 3999n;
      tax(s, 0, 0).amountMinor = 638n;
      line(s, 1).unitPriceMinor = 2999n;
      tax(s, 1, 0).amountMinor = 479n;
      totalsOf(s).subtotalMinor = -1000n;
      totalsOf(s).includedTaxMinor = -159n;
      totalsOf(s).totalMinor = -1000n;
      payment(s, 0).amountMinor = -1000n;
    });
    expect(violations(refund)).toEqual([]);
  });

  it("a post-void is checked by its original's rules", () => {
    const c = zurichKiosk(OPTS);
    expect(violations(postVoidOf(c, OPTS))).toEqual([]);
    const r = chicagoReturn(OPTS);
    expect(violations(postVoidOf(r, OPTS))).toEqual([]);
    // Declared as a void of a sale, a return's body breaks the sale rules.
    const misdeclared = postVoidOf(r, OPTS);
    (misdeclared.original as { kind: TransactionKind }).kind = TransactionKind.SALE;
    expect(fields(misdeclared)).toContain("sale.line_items[0].kind");
  });

  it("a post-void needs its original, and a void cannot be voided", () => {
    const c = zurichKiosk(OPTS);
    const noOriginal = postVoidOf(c, OPTS);
    noOriginal.original = undefined;
    expect(fields(noOriginal)).toEqual(["sale.original"]);
    const ofVoid = postVoidOf(c, OPTS);
    (ofVoid.original as { kind: TransactionKind }).kind = TransactionKind.POST_VOID;
    expect(violations(ofVoid)).toEqual([
      { field: "sale.original.kind", description: "a void cannot be voided" },
    ]);
    const unstated = postVoidOf(c, OPTS);
    (unstated.original as { kind: TransactionKind }).kind = TransactionKind.UNSPECIFIED;
    expect(fields(unstated)).toEqual(["sale.original.kind"]);
    const unknown = changed(berlinBakery, (s) => {
      s.kind = 9 as TransactionKind;
    });
    expect(fields(unknown)).toEqual(["sale.kind"]);
  });
});

describe("the other v2 fields", () => {
  it.each([
    ["2026-02-30", "not a date"],
    ["2026-12-1", "malformed"],
    ["2026-11-28", "three days before"],
    ["2026-12-03", "two days after"],
  ])("business_day %s (%s) is refused", (day) => {
    expect(
      fields(
        changed(berlinBakery, (s) => {
          s.businessDay = day;
        }),
      ),
    ).toEqual(["sale.business_day"]);
  });

  it.each(["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"])(
    "business_day %s is accepted for a sale at 2026-12-01 UTC",
    (day) => {
      expect(
        fields(
          changed(berlinBakery, (s) => {
            s.businessDay = day;
          }),
        ),
      ).toEqual([]);
    },
  );

  it("cashier and loyalty ids are at most 128 characters", () => {
    const s = changed(berlinBakery, (s) => {
      s.cashierId = "c".repeat(129);
      s.loyaltyAccountId = "l".repeat(129);
    });
    expect(fields(s)).toEqual(["sale.cashier_id", "sale.loyalty_account_id"]);
  });

  it("card brand and last four: on cards only, in their form", () => {
    const s = changed(berlinBakery, (s) => {
      payment(s, 0).cardBrand = "Visa";
      payment(s, 0).cardLast4 = "424";
    });
    expect(fields(s)).toEqual(["sale.payments[0].card_brand", "sale.payments[0].card_last4"]);
    const cash = changed(zurichKiosk, (s) => {
      payment(s, 0).cardBrand = "visa";
      payment(s, 0).cardLast4 = "4242";
    });
    expect(fields(cash)).toEqual(["sale.payments[0].card_brand", "sale.payments[0].card_last4"]);
  });

  it("counts are bounded: basket discounts and service charges at most 20", () => {
    const s = changed(chicagoStore, (s) => {
      const d = s.basketDiscounts[0] as Sale["basketDiscounts"][number];
      s.basketDiscounts = Array.from({ length: 21 }, (_, i) => ({ ...d, code: `D${i}` }));
    });
    expect(fields(s)).toEqual(["sale.basket_discounts"]);
    const c = changed(chicagoStore, (s) => {
      const bag = s.serviceCharges[0] as Sale["serviceCharges"][number];
      s.serviceCharges = Array.from({ length: 21 }, () => bag);
    });
    expect(fields(c)).toEqual(["sale.service_charges"]);
  });

  it("a refunded charge is not allowed in a sale", () => {
    const s = changed(chicagoStore, (s) => {
      (s.serviceCharges[0] as { kind: LineKind }).kind = LineKind.RETURN;
    });
    expect(fields(s)).toEqual(["sale.service_charges[0].kind"]);
  });

  it.each(["JPY", "KWD", "CHF", "CLF"])(
    "currency %s (ISO 4217 with a minor unit) is known",
    (c) => {
      const s = changed(berlinBakery, (s) => {
        s.currency = c;
      });
      expect(fields(s)).toEqual([]);
    },
  );

  it.each(["XAU", "XXX", "XDR", "QQQ"])("currency %s is refused with v1's text", (c) => {
    const s = changed(berlinBakery, (s) => {
      s.currency = c;
    });
    expect(violations(s)).toEqual([
      { field: "sale.currency", description: "must be an ISO 4217 alphabetic code such as EUR" },
    ]);
  });
});

describe("the PAN rule", () => {
  const pan = "4111 1111 1111 1111";
  it.each([
    [
      "a line name",
      (s: Sale) => {
        line(s, 0).name = `Card ${pan}`;
      },
      "sale.line_items[0].name",
    ],
    [
      "a tax name",
      (s: Sale) => {
        tax(s, 0, 0).name = pan;
      },
      "sale.line_items[0].taxes[0].name",
    ],
    [
      "the cashier",
      (s: Sale) => {
        s.cashierId = "4111-1111-1111-1111";
      },
      "sale.cashier_id",
    ],
    [
      "an attribute value",
      (s: Sale) => {
        s.attributes.note = `paid with ${pan.replaceAll(" ", "")}`;
      },
      'sale.attributes["note"]',
    ],
    [
      "an attribute key",
      (s: Sale) => {
        s.attributes[pan] = "x";
      },
      "sale.attributes",
    ],
    [
      "the customer's name",
      (s: Sale) => {
        s.customer = create(SaleSchema, { customer: { name: pan } }).customer;
      },
      "sale.customer.name",
    ],
  ])("a card number in %s is refused without echoing it", (_, change, field) => {
    const v = violations(changed(berlinBakery, change));
    expect(v).toEqual([{ field, description: expect.stringContaining(PAN_TEXT) }]);
    expect(JSON.stringify(v)).not.toMatch(/1111/);
  });

  it("identifiers are not scanned: a sku or receipt number may look like one", () => {
    const s = changed(berlinBakery, (s) => {
      line(s, 0).sku = "4111111111111111";
      s.saleId = "4111111111111111";
    });
    expect(fields(s)).toEqual([]);
  });
});
