/**
 * The one reading of a YYYY-MM-DD calendar date (a business day), shared by the rules, which
 * refuse what is not one, and the ledger, which stores it.
 */

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

// The day last read, and its midnight: a store's transactions come in runs of one business day,
// and the pattern, Date.UTC and the read-back cost more than the rest of the day's rules.
let lastDay = "";
let lastMs = 0;

/**
 * Milliseconds since the epoch at UTC midnight of `day`, or undefined when `day` is not a real
 * calendar date in the form YYYY-MM-DD (Date.UTC rolls 2026-02-30 over into March: a real date
 * reads back as itself).
 */
export function calendarDayMs(day: string): number | undefined {
  if (day === lastDay) return lastMs;
  const m = DATE_PATTERN.exec(day);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) return undefined;
  lastDay = day;
  lastMs = ms;
  return ms;
}
