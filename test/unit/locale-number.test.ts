import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type NumberStyle, numberReader } from "../../src/cli/export/locale-number.js";

const GERMAN: NumberStyle = { decimal: ",", thousands: "." };
const ENGLISH: NumberStyle = { decimal: ".", thousands: "," };
const PLAIN: NumberStyle = { decimal: ".", thousands: "" };

describe("numberReader", () => {
  it.each<[NumberStyle, string, string]>([
    [GERMAN, "1.234,56", "1234.56"],
    [GERMAN, " -2,5 ", "-2.5"],
    [GERMAN, "1,25", "1.25"],
    [GERMAN, "2,5-", "-2.5"],
    [GERMAN, "+7", "7"],
    [GERMAN, "1.234.567", "1234567"],
    [GERMAN, "1234567,000", "1234567.000"],
    [GERMAN, "0,001", "0.001"],
    [ENGLISH, "1,234.56", "1234.56"],
    [ENGLISH, "-1,234", "-1234"],
    [PLAIN, "1234.56", "1234.56"],
    [PLAIN, "  -0.5 ", "-0.5"],
    [PLAIN, "+3.25", "3.25"],
    [PLAIN, "3.25-", "-3.25"],
    [{ decimal: ",", thousands: "" }, "1234,5", "1234.5"],
    [{ decimal: ".", thousands: "'" }, "1'234'567.05", "1234567.05"],
    [{ decimal: ",", thousands: " " }, "1 234,5", "1234.5"],
    // A file said to group by a space may use a no-break space; they look the same.
    [{ decimal: ",", thousands: " " }, "1\u00a0234\u202f567,5", "1234567.5"],
    [{ decimal: ",", thousands: "\u202f" }, "12\u202f345,67", "12345.67"],
    [{ decimal: ",", thousands: "\u00a0" }, "\u00a012\u00a0345,67 ", "12345.67"],
  ])("reads %j %j as %j", (style, raw, expected) => {
    expect(numberReader(style)(raw)).toBe(expected);
  });

  it("returns an empty cell as empty", () => {
    expect(numberReader(GERMAN)("   ")).toBe("");
    expect(numberReader(PLAIN)("")).toBe("");
  });

  it("keeps digits beyond what a float holds", () => {
    expect(numberReader(GERMAN)("123.456.789.012.345.678,123456789")).toBe(
      "123456789012345678.123456789",
    );
  });

  it("refuses a number in another style, naming the style", () => {
    expect(() => numberReader(GERMAN)("1,234.56")).toThrow(
      new Error('"1,234.56" is not a number like 1.234,56 (with decimal "," and thousands ".")'),
    );
    expect(() => numberReader(PLAIN)("1,5")).toThrow(
      '"1,5" is not a number like 1234.56 (with decimal "." and no thousands separator)',
    );
  });

  it.each<[NumberStyle, string]>([
    [GERMAN, "1.23,5"],
    [GERMAN, "12.3456"],
    [GERMAN, "1234.567"],
    [ENGLISH, "1,23"],
  ])("refuses thousands groups not of 3 digits (%j %j)", (style, raw) => {
    expect(() => numberReader(style)(raw)).toThrow(/thousands groups have 3 digits$/);
  });

  it.each<[NumberStyle, string]>([
    [GERMAN, "1,2,3"],
    [GERMAN, "abc"],
    [GERMAN, "-"],
    [GERMAN, "--2"],
    [GERMAN, "-2-"],
    [GERMAN, "+-2"],
    [GERMAN, "2,"],
    [GERMAN, ",5"],
    [GERMAN, "1..234"],
    [GERMAN, "1.234."],
    [GERMAN, "- 2"],
    [GERMAN, "1e5"],
    [GERMAN, ".123,5"],
    [PLAIN, "1.2.3"],
    [PLAIN, "1 000"],
    [PLAIN, "0x10"],
    [PLAIN, "Infinity"],
    [{ decimal: ",", thousands: "'" }, "1 234,5"],
  ])("refuses %j %j", (style, raw) => {
    expect(() => numberReader(style)(raw)).toThrow(/is not a number like/);
  });

  it("clips the echoed text to 40 characters", () => {
    const long = `${"9".repeat(50)}x`;
    expect(() => numberReader(GERMAN)(long)).toThrow(`"${"9".repeat(40)}…" is not a number`);
  });

  it("refuses a style whose decimal and thousands separators are the same", () => {
    expect(() => numberReader({ decimal: ",", thousands: "," })).toThrow(
      /decimal and thousands separators are both ","/,
    );
    expect(() => numberReader({ decimal: ".", thousands: "." })).toThrow(/both "\."/);
  });

  it("reads back any decimal written with grouping, in every style", () => {
    const styles: NumberStyle[] = [
      GERMAN,
      ENGLISH,
      PLAIN,
      { decimal: ",", thousands: "\u202f" },
      { decimal: ".", thousands: "'" },
      { decimal: ",", thousands: "" },
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...styles),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
        fc.constantFrom("", "-", "+", "trailing"),
        fc.boolean(),
        (style, whole, fraction, sign, grouped) => {
          const digits = whole.toString();
          const body =
            grouped && style.thousands !== ""
              ? digits.replace(/\B(?=(\d{3})+$)/g, style.thousands)
              : digits;
          const text = fraction === undefined ? body : `${body}${style.decimal}${fraction}`;
          const raw = sign === "trailing" ? `${text}-` : `${sign}${text}`;
          const plain = fraction === undefined ? digits : `${digits}.${fraction}`;
          const negative = sign === "-" || sign === "trailing";
          expect(numberReader(style)(` ${raw} `)).toBe(negative ? `-${plain}` : plain);
        },
      ),
    );
  });
});
