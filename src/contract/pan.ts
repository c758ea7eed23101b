/**
 * The card-number (PAN) rule: free text that contains something shaped like a payment card number
 * is refused, so a number typed into a note or a name never reaches storage or logs. Only the
 * last four digits and the brand have fields of their own.
 */

// A run of digits with single spaces or dashes between them; the run's length is checked after
// the separators are taken out, so "4242 4242 4242 4242" and "4242-4242-4242-4242" both count.
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;
// Thirteen digits in such a run: what any card number needs, tested first because nearly no
// name or note has them, and every free-text field of every sale is scanned.
const LONG_ENOUGH = /\d(?:[ -]?\d){12}/;

/** The Luhn (mod 10) check over a string of digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Whether `text` contains what looks like a card number: a run of 13-19 digits (single spaces or
 * dashes allowed between them), the first 2-6 (the issuer ranges of the networks that matter),
 * passing Luhn. A run of groups ("4242 4242 4242 4242 12") is also tried group by group, so
 * digits written next to a number do not hide it; one long unbroken run (an EAN, a reference) is
 * not cut up, as that would refuse legitimate text. Never echo the text back: the caller says
 * only that it looks like one.
 */
export function looksLikePan(text: string): boolean {
  if (!LONG_ENOUGH.test(text)) return false;
  for (const match of text.matchAll(DIGIT_RUN)) {
    const groups = match[0].split(/[ -]/);
    for (let i = 0; i < groups.length; i++) {
      let digits = "";
      for (let j = i; j < groups.length && digits.length <= 19; j++) {
        digits += groups[j];
        if (digits.length >= 13 && digits.length <= 19 && isPan(digits)) return true;
      }
    }
  }
  return false;
}

function isPan(digits: string): boolean {
  const first = digits.charCodeAt(0) - 48;
  return first >= 2 && first <= 6 && passesLuhn(digits);
}
