import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { currentIso4217, NO_MINOR_UNIT } from "../../scripts/gen-iso4217.mjs";
import { currencyExponent, ISO4217 } from "../../src/contract/iso4217.js";

describe("the ISO 4217 table", () => {
  it("is what scripts/gen-iso4217.mjs writes from the installed currency-codes", () => {
    // Fails when the package is upgraded without regenerating, or the table is edited by hand.
    expect(readFileSync("src/contract/iso4217.ts", "utf8")).toBe(currentIso4217());
  });

  it.each([
    ["EUR", 2],
    ["USD", 2],
    ["GBP", 2],
    ["CHF", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["KWD", 3],
    ["IQD", 3],
    ["HUF", 2],
    ["CLF", 4],
  ])("gives %s exponent %d (ISO's, not CLDR's)", (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it("leaves out codes without a minor unit and unknown codes", () => {
    for (const code of NO_MINOR_UNIT) expect(currencyExponent(code)).toBeUndefined();
    for (const code of ["QQQ", "eur", "", "constructor", "toString", "__proto__"]) {
      expect(currencyExponent(code)).toBeUndefined();
    }
  });

  it("differs from Intl's CLDR list only where it should (printed for the record)", () => {
    const iso = new Set(Object.keys(ISO4217));
    const cldr = new Set(Intl.supportedValuesOf("currency"));
    const onlyCldr = [...cldr].filter((c) => !iso.has(c));
    const onlyIso = [...iso].filter((c) => !cldr.has(c));
    console.error(`ISO 4217 only: ${onlyIso.join(" ")}; CLDR only: ${onlyCldr.join(" ")}`);
    // Every code ISO lists with a minor unit is a 3-letter code; the golden corpus' are in both.
    for (const c of iso) expect(c).toMatch(/^[A-Z]{3}$/);
    for (const c of ["EUR", "USD", "GBP", "JPY"]) expect(cldr.has(c) && iso.has(c)).toBe(true);
  });
});

describe("codes beyond the packaged List One", () => {
  it("takes XCG and the codes withdrawn since 2010 that backlogs carry, with ISO's exponents", () => {
    expect(currencyExponent("XCG")).toBe(2);
    expect(currencyExponent("HRK")).toBe(2);
    expect(currencyExponent("BYR")).toBe(0);
    expect(currencyExponent("ZWL")).toBe(2);
    // Funds and units of account have no minor unit: still refused.
    expect(currencyExponent("XDR")).toBeUndefined();
    expect(currencyExponent("XSU")).toBeUndefined();
  });
});
