import { describe, expect, it } from "vitest";
import { looksLikePan, passesLuhn } from "../../src/contract/pan.js";

describe("looksLikePan", () => {
  it.each([
    "4111111111111111",
    "4242 4242 4242 4242",
    "5555-5555-5555-4444",
    "card 378282246310005 exp", // Amex, 15 digits
    "6011111111111117",
    "4222222222222", // 13 digits
    "4242 4242 4242 4242 12/29", // digits after the number do not hide it
  ])("finds a card number in %j", (text) => {
    expect(looksLikePan(text)).toBe(true);
  });

  it.each([
    "4111111111111112", // Luhn fails
    "1111111111111117", // first digit 1: no network
    "7111111111111117",
    "411111111111", // 12 digits
    "4111  1111 1111 1111", // two spaces break the run
    "41111111111111111111111", // 23 digits unbroken: a reference, not a card
    "Espresso 2x",
    "",
  ])("leaves %j alone", (text) => {
    expect(looksLikePan(text)).toBe(false);
  });

  it("checks Luhn", () => {
    expect(passesLuhn("79927398713")).toBe(true);
    expect(passesLuhn("79927398710")).toBe(false);
  });
});
