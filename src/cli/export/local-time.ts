import { clip } from "../csv-values.js";

/**
 * Wall-clock times of a retailer's export ("12/1/2010 8:26", Europe/London) to instants. The
 * zone's rules come from the built-in Intl API (Node has full ICU), so no tz database is shipped.
 */

/** What to do with a wall-clock time that occurs twice (the hour repeated when clocks go back). */
export type RepeatedTime = "earlier" | "later" | "reject";
/** What to do with a wall-clock time that does not exist (the hour skipped when clocks go forward). */
export type SkippedTime = "reject" | "later" | "earlier";

/** How an export writes its times. */
export interface LocalTimeOptions {
  /** Pattern of the source's times, e.g. "M/d/yyyy H:mm", "dd.MM.yyyy HH:mm:ss", "yyyy-MM-dd HH:mm:ss.SSS".
   *  Absent: ISO 8601 `yyyy-MM-dd[T| ]HH:mm[:ss[.fraction up to 9 digits]]` optionally followed by `Z` or `±hh:mm`. */
  readonly format?: string;
  /** IANA zone, e.g. "Europe/London". Required for times without an offset. */
  readonly zone?: string;
  readonly repeated: RepeatedTime;
  readonly skipped: SkippedTime;
}

/** An instant as the contract's Timestamp carries it. */
export interface Instant {
  seconds: bigint;
  nanos: number;
}

type Field = "year" | "month" | "day" | "hour" | "hour12" | "ampm" | "minute" | "second";
type Group = Field | "fraction" | "offset";

interface Pattern {
  readonly regex: RegExp;
  /** What each capture group holds, in order. */
  readonly groups: readonly Group[];
  /** How the pattern is named in errors. */
  readonly description: string;
}

const OFFSET = "([Zz]|[+-]\\d{2}:\\d{2})";

const ISO: Pattern = {
  regex: new RegExp(
    `^(\\d{4})-(\\d{2})-(\\d{2})[Tt ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?${OFFSET}?$`,
  ),
  groups: ["year", "month", "day", "hour", "minute", "second", "fraction", "offset"],
  description: "yyyy-MM-dd HH:mm[:ss[.fraction]][Z|±hh:mm] (ISO 8601)",
};

/** Pattern letters: a run of one letter must be one of these. */
const TOKENS: Record<string, { group: Group; regex: string }> = {
  yyyy: { group: "year", regex: "(\\d{4})" },
  MM: { group: "month", regex: "(\\d{2})" },
  M: { group: "month", regex: "(\\d{1,2})" },
  dd: { group: "day", regex: "(\\d{2})" },
  d: { group: "day", regex: "(\\d{1,2})" },
  HH: { group: "hour", regex: "(\\d{2})" },
  H: { group: "hour", regex: "(\\d{1,2})" },
  hh: { group: "hour12", regex: "(\\d{2})" },
  h: { group: "hour12", regex: "(\\d{1,2})" },
  a: { group: "ampm", regex: "([AaPp][Mm])" },
  mm: { group: "minute", regex: "(\\d{2})" },
  ss: { group: "second", regex: "(\\d{2})" },
  // The offset is optional in the value, as in ISO 8601 above: a file may mix both forms.
  XXX: { group: "offset", regex: `${OFFSET}?` },
};

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** Compiles a pattern such as "M/d/yyyy h:mm a" to one anchored regex. */
function compilePattern(format: string): Pattern {
  const bad = (why: string) => new Error(`time format "${clip(format)}": ${why}`);
  let regex = "^";
  const groups: Group[] = [];
  let i = 0;
  while (i < format.length) {
    const c = format[i] as string;
    if (c === "'") {
      // '...' quotes literal text; '' is one quote, inside or outside quotes.
      if (format[i + 1] === "'") {
        regex += "'";
        i += 2;
        continue;
      }
      let literal = "";
      i++;
      for (;;) {
        if (i >= format.length) throw bad("a quote (') is not closed");
        if (format[i] === "'") {
          if (format[i + 1] !== "'") break;
          i++;
        }
        literal += format[i];
        i++;
      }
      regex += escapeRegex(literal);
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      let end = i;
      while (format[end] === c) end++;
      const run = format.slice(i, end);
      i = end;
      if (c === "S") {
        if (run.length > 9) throw bad("a fraction has at most 9 digits (S…S)");
        groups.push("fraction");
        regex += run.length === 1 ? "(\\d{1,9})" : `(\\d{${run.length}})`;
        continue;
      }
      const token = TOKENS[run];
      if (!token) {
        throw bad(
          `"${run}" is not a pattern letter (yyyy MM M dd d HH H hh h a mm ss S XXX; quote literal text as '${run}')`,
        );
      }
      if (groups.includes(token.group)) throw bad(`"${run}" repeats a field`);
      if (groups.includes("offset")) throw bad("the offset (XXX) must come last");
      groups.push(token.group);
      regex += token.regex;
    } else {
      regex += escapeRegex(c);
      i++;
    }
  }
  if (groups.filter((g) => g === "fraction").length > 1) throw bad("the fraction repeats");
  const has = (g: Group) => groups.includes(g);
  if (has("hour12") !== has("ampm")) throw bad("a 12-hour clock (h, hh) needs AM/PM (a) and back");
  if (has("hour") && has("hour12")) throw bad("it has both a 24-hour (H) and a 12-hour (h) hour");
  for (const [g, letters] of [
    ["year", "yyyy"],
    ["month", "M or MM"],
    ["day", "d or dd"],
    ["minute", "mm"],
  ] as const) {
    if (!has(g)) throw bad(`it has no ${g} (${letters})`);
  }
  if (!has("hour") && !has("hour12")) throw bad("it has no hour (H, HH, h or hh)");
  if (has("fraction") && !has("second")) throw bad("a fraction (S) needs seconds (ss)");
  return { regex: new RegExp(`${regex}$`), groups, description: format };
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A zone's UTC offset in seconds at an instant, read back from Intl's wall clock there. */
function offsetReader(zone: string): (epochSeconds: number) => number {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    era: "short",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  return (t) => {
    const p: Record<string, string> = {};
    for (const part of format.formatToParts(t * 1000)) p[part.type] = part.value;
    const year = p.era === "BC" ? 1 - Number(p.year) : Number(p.year);
    const days = daysFromCivil(year, Number(p.month), Number(p.day));
    return days * 86400 + Number(p.hour) * 3600 + Number(p.minute) * 60 + Number(p.second) - t;
  };
}

function hhmm(secondsOfDay: number): string {
  const s = ((secondsOfDay % 86400) + 86400) % 86400;
  const two = (n: number) => String(n).padStart(2, "0");
  const text = `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}`;
  return s % 60 === 0 ? text : `${text}:${two(s % 60)}`;
}

/** Most distinct raw values remembered; all rows of an invoice repeat one time. */
const CACHE_LIMIT = 10_000;

/**
 * Compiles the options once (validate zone name & pattern: throw an Error naming the problem).
 * The reader throws an Error, not prefixed by a column name, for a value that is not a time of
 * the pattern, has no offset without a zone, or falls in a DST change its policy rejects.
 */
export function localTimeReader(options: LocalTimeOptions): (raw: string) => Instant {
  const pattern = options.format === undefined ? ISO : compilePattern(options.format);
  const { zone, repeated, skipped } = options;
  if (zone === undefined && !pattern.groups.includes("offset")) {
    throw new Error(
      `time format "${clip(pattern.description)}" has no offset (XXX) and no time zone was given`,
    );
  }
  let offsetAt: ((t: number) => number) | undefined;
  if (zone !== undefined) {
    try {
      offsetAt = offsetReader(zone);
    } catch {
      throw new Error(`"${clip(zone)}" is not an IANA time zone (e.g. Europe/London)`);
    }
  }
  const cache = new Map<string, Instant>();

  // The zone's offsets a day before and after each local day, by day: an export spans few days,
  // so a new value usually costs one Intl call (the check of its candidate instant).
  const dayOffsets = new Map<number, readonly [number, number]>();
  const bracket = (local: number, at: (t: number) => number): readonly [number, number] => {
    const day = Math.floor(local / 86400);
    let offsets = dayOffsets.get(day);
    if (!offsets) {
      offsets = [at((day - 1) * 86400), at((day + 2) * 86400)];
      if (dayOffsets.size >= CACHE_LIMIT) dayOffsets.clear();
      dayOffsets.set(day, offsets);
    }
    return offsets;
  };

  /**
   * Local wall-clock seconds (as if UTC) → epoch seconds in the zone, by the DST policies. A
   * candidate instant local − offset is valid iff the zone's offset there is that offset: none
   * valid is a skipped time, two a repeated one.
   */
  const resolve = (local: number, value: string, at: (t: number) => number): number => {
    const offsets = [...new Set(bracket(local, at))];
    const valid: number[] = [];
    // Two changes inside the window can hide an offset: one observed at a candidate joins them.
    for (let i = 0; i < offsets.length; i++) {
      const o = offsets[i] as number;
      const actual = at(local - o);
      if (actual === o) valid.push(local - o);
      else if (!offsets.includes(actual)) offsets.push(actual);
    }
    valid.sort((a, b) => a - b);
    const first = valid[0];
    const last = valid[valid.length - 1];
    if (first !== undefined && last !== undefined) {
      if (first === last || repeated === "earlier") return first;
      if (repeated === "later") return last;
      throw new Error(
        `"${clip(value)}" occurs twice in ${zone} (clocks went back); time.repeated is reject`,
      );
    }
    // A gap: the offset rose from `low` to `high` between the two candidate instants.
    const low = Math.min(...offsets);
    const high = Math.max(...offsets);
    if (skipped === "later") return local - low;
    if (skipped === "earlier") return local - high;
    let from = local - high;
    let to = local - low;
    while (to - from > 1) {
      const mid = Math.floor((from + to) / 2);
      if (at(mid) === low) from = mid;
      else to = mid;
    }
    throw new Error(
      `"${clip(value)}" does not exist in ${zone} (clocks went forward at ${hhmm(to + low)})`,
    );
  };

  const read = (value: string): Instant => {
    const m = pattern.regex.exec(value);
    const bad = () =>
      new Error(`"${clip(value)}" is not a time of the form ${pattern.description}`);
    if (!m) throw bad();
    const f: Partial<Record<Group, string>> = {};
    pattern.groups.forEach((g, i) => {
      f[g] = m[i + 1];
    });
    const year = Number(f.year);
    const month = Number(f.month);
    const day = Number(f.day);
    let hour = Number(f.hour ?? 0);
    if (f.hour12 !== undefined) {
      hour = Number(f.hour12);
      if (hour < 1 || hour > 12) throw bad();
      hour = (hour % 12) + (/^p/i.test(f.ampm ?? "") ? 12 : 0);
    }
    const minute = Number(f.minute);
    const second = Number(f.second ?? 0);
    if (
      year < 1 ||
      month < 1 ||
      month > 12 ||
      day < 1 ||
      day > daysInMonth(year, month) ||
      hour > 23 ||
      minute > 59 ||
      second > 59
    ) {
      throw bad();
    }
    const local = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    const nanos = Number((f.fraction ?? "").padEnd(9, "0"));
    const offset = f.offset;
    if (offset !== undefined) {
      if (offset === "Z" || offset === "z") return { seconds: BigInt(local), nanos };
      const oh = Number(offset.slice(1, 3));
      const om = Number(offset.slice(4, 6));
      if (oh > 23 || om > 59) throw bad();
      const sign = offset[0] === "-" ? -1 : 1;
      return { seconds: BigInt(local - sign * (oh * 3600 + om * 60)), nanos };
    }
    if (offsetAt === undefined) {
      throw new Error(`"${clip(value)}" has no offset and no time zone was given`);
    }
    return { seconds: BigInt(resolve(local, value, offsetAt)), nanos };
  };

  return (raw) => {
    const hit = cache.get(raw);
    // A copy, so a caller that changes its result cannot change the next row's.
    if (hit) return { seconds: hit.seconds, nanos: hit.nanos };
    const instant = read(raw.trim());
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(raw, instant);
    return { seconds: instant.seconds, nanos: instant.nanos };
  };
}
