/**
 * Collects the violations a sale check finds, each naming its field by proto path, with the
 * wording every check shares (v1's texts, kept word for word).
 */
import { looksLikePan } from "./pan.js";

/** One field that failed a rule: a path such as `sale.line_items[2].quantity_milli`. */
export interface RuleViolation {
  readonly field: string;
  readonly description: string;
}

/** At most this many violations are listed: enough to fix a sale, bounded for a hostile one. */
export const MAX_VIOLATIONS = 20;

/** What a free-text field holding a card number is told; the value itself is never echoed. */
export const PAN_TEXT = "looks like a card number; send card_brand and card_last4 only";

// C0 and C1 control characters (and DEL): never part of an id or a name, often a sign of a
// mangled encoding.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** An ordered, capped list of violations with the shared checks that add to it. */
export class Violations {
  readonly list: RuleViolation[] = [];

  get count(): number {
    return this.list.length;
  }

  add(field: string, description: string): void {
    if (this.list.length < MAX_VIOLATIONS) this.list.push({ field, description });
  }

  /** Length in [min, max] UTF-16 units and no control characters; true when it holds. */
  text(field: string, value: string, min: number, max: number, what = "value"): boolean {
    if (value.length < min) this.add(field, min === 1 ? "is required" : `must be at least ${min}`);
    else if (value.length > max) this.add(field, `${what} must be at most ${max} characters`);
    else if (CONTROL_CHARS.test(value))
      this.add(field, `${what} must not contain control characters`);
    else return true;
    return false;
  }

  /** `text`, and for free text a person typed: no card number in it. */
  freeText(field: string, value: string, min: number, max: number, what = "value"): boolean {
    if (!this.text(field, value, min, max, what)) return false;
    if (!looksLikePan(value)) return true;
    this.add(field, PAN_TEXT);
    return false;
  }

  // The *At forms take a field's path in two parts, joined only for a violation: a valid sale
  // passes dozens of checks a record, and each joined path was a string built for nothing.

  /** `text` of the field `at + suffix`. */
  textAt(at: string, suffix: string, value: string, min: number, max: number, what = "value") {
    if (value.length >= min && value.length <= max && !CONTROL_CHARS.test(value)) return true;
    return this.text(at + suffix, value, min, max, what);
  }

  /** `freeText` of the field `at + suffix`. */
  freeTextAt(at: string, suffix: string, value: string, min: number, max: number, what = "value") {
    if (
      value.length >= min &&
      value.length <= max &&
      !CONTROL_CHARS.test(value) &&
      !looksLikePan(value)
    ) {
      return true;
    }
    return this.freeText(at + suffix, value, min, max, what);
  }

  /** `range` of the field `at + suffix`. */
  rangeAt(at: string, suffix: string, value: bigint, min: bigint, max: bigint, maxName?: string) {
    if (value >= min && value <= max) return true;
    return this.range(at + suffix, value, min, max, maxName);
  }

  /** `equal` of the field `at + suffix`. */
  equalAt(at: string, suffix: string, actual: bigint, expected: bigint, what: string): boolean {
    if (actual === expected) return true;
    return this.equal(at + suffix, actual, expected, what);
  }

  range(field: string, value: bigint, min: bigint, max: bigint, maxName?: string): boolean {
    if (value < min) this.add(field, `must be at least ${min}`);
    else if (value > max) this.add(field, `must be at most ${maxName ?? max.toString()}`);
    else return true;
    return false;
  }

  equal(field: string, actual: bigint, expected: bigint, what: string): boolean {
    if (actual === expected) return true;
    this.add(field, `is ${actual} but ${what} is ${expected}`);
    return false;
  }
}
