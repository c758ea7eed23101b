import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type LocalTimeOptions,
  localTimeReader,
  type RepeatedTime,
  type SkippedTime,
} from "../../src/cli/export/local-time.js";

// Expected instants are literals (from `date -u -d … +%s`), never recomputed with the code under test.

const US = "M/d/yyyy H:mm";

function read(raw: string, options: Partial<LocalTimeOptions> = {}) {
  return localTimeReader({ repeated: "reject", skipped: "reject", ...options })(raw);
}

function seconds(raw: string, options: Partial<LocalTimeOptions> = {}): bigint {
  return read(raw, options).seconds;
}

describe("localTimeReader, Europe/London", () => {
  const london = { format: US, zone: "Europe/London" };

  it("reads winter and summer times of a US-style export", () => {
    expect(read("12/1/2010 8:26", london)).toEqual({ seconds: 1291191960n, nanos: 0 });
    expect(seconds(" 10/30/2011 2:30 ", london)).toBe(1319941800n);
  });

  it("reads the minutes either side of the spring-forward gap (27 Mar 2011 01:00→02:00)", () => {
    expect(seconds("3/27/2011 0:59", london)).toBe(1301187540n);
    expect(seconds("3/27/2011 2:00", london)).toBe(1301187600n);
  });

  it.each<[SkippedTime, bigint]>([
    ["later", 1301189400n], // 02:30 BST
    ["earlier", 1301185800n], // 00:30 GMT
  ])("moves a skipped time by the gap when skipped is %s", (skipped, expected) => {
    expect(seconds("3/27/2011 1:30", { ...london, skipped })).toBe(expected);
  });

  it("rejects a skipped time, saying when the clocks went forward", () => {
    expect(() => read("3/27/2011 1:30", london)).toThrow(
      new Error('"3/27/2011 1:30" does not exist in Europe/London (clocks went forward at 01:00)'),
    );
  });

  it.each<[RepeatedTime, bigint]>([
    ["earlier", 1319934600n], // 01:30 BST
    ["later", 1319938200n], // 01:30 GMT
  ])("picks one instant of a repeated time when repeated is %s", (repeated, expected) => {
    expect(seconds("10/30/2011 1:30", { ...london, repeated })).toBe(expected);
  });

  it("rejects a repeated time under repeated: reject", () => {
    expect(() => read("10/30/2011 1:30", london)).toThrow(
      new Error(
        '"10/30/2011 1:30" occurs twice in Europe/London (clocks went back); time.repeated is reject',
      ),
    );
  });

  it("uses the zone's local mean time before 1847 (-00:01:15)", () => {
    expect(seconds("1800-01-01 00:00", { zone: "Europe/London" })).toBe(-5364662325n);
  });
});

describe("localTimeReader, other zones", () => {
  it("handles Lord Howe's 30-minute DST", () => {
    const lh = { zone: "Australia/Lord_Howe" };
    // 1 Oct 2023 02:00 (+10:30) → 02:30 (+11)
    expect(seconds("2023-10-01 02:15", { ...lh, skipped: "later" })).toBe(1696088700n);
    expect(seconds("2023-10-01 02:15", { ...lh, skipped: "earlier" })).toBe(1696086900n);
    expect(() => read("2023-10-01 02:15", lh)).toThrow(/clocks went forward at 02:00\)$/);
    // 2 Apr 2023 02:00 (+11) → 01:30 (+10:30)
    expect(seconds("2023-04-02 01:45", { ...lh, repeated: "earlier" })).toBe(1680360300n);
    expect(seconds("2023-04-02 01:45", { ...lh, repeated: "later" })).toBe(1680362100n);
    expect(() => read("2023-04-02 01:45", lh)).toThrow(/occurs twice in Australia\/Lord_Howe/);
  });

  it("handles a southern zone whose DST starts at midnight (America/Sao_Paulo 2018)", () => {
    const sp = { zone: "America/Sao_Paulo" };
    expect(seconds("2018-11-04 00:30", { ...sp, skipped: "later" })).toBe(1541302200n);
    expect(seconds("2018-11-04 00:30", { ...sp, skipped: "earlier" })).toBe(1541298600n);
    expect(() => read("2018-11-04 00:30", sp)).toThrow(/clocks went forward at 00:00\)$/);
    expect(seconds("2018-02-17 23:30", { ...sp, repeated: "earlier" })).toBe(1518917400n);
    expect(seconds("2018-02-17 23:30", { ...sp, repeated: "later" })).toBe(1518921000n);
  });

  it("reads Australia/Sydney summer (+11) and winter (+10)", () => {
    const sydney = { format: "dd/MM/yyyy HH:mm", zone: "Australia/Sydney" };
    expect(seconds("15/01/2024 12:00", sydney)).toBe(1705280400n);
    expect(seconds("15/07/2024 12:00", sydney)).toBe(1721008800n);
  });

  it("handles America/New_York", () => {
    const ny = { zone: "America/New_York" };
    expect(seconds("2021-07-04 12:00", ny)).toBe(1625414400n);
    expect(seconds("2021-03-14 02:30", { ...ny, skipped: "later" })).toBe(1615707000n);
    expect(seconds("2021-03-14 02:30", { ...ny, skipped: "earlier" })).toBe(1615703400n);
    expect(() => read("2021-03-14 02:30", ny)).toThrow(/clocks went forward at 02:00\)$/);
    expect(seconds("2021-11-07 01:30", { ...ny, repeated: "earlier" })).toBe(1636263000n);
    expect(seconds("2021-11-07 01:30", { ...ny, repeated: "later" })).toBe(1636266600n);
  });

  it("reads UTC, where no time is skipped or repeated", () => {
    expect(seconds("2011-03-27 01:30", { zone: "UTC" })).toBe(1301189400n);
    expect(seconds("1970-01-01T00:00:00", { zone: "UTC" })).toBe(0n);
    expect(seconds("2099-12-31 23:59:59", { zone: "UTC" })).toBe(4102444799n);
  });
});

describe("localTimeReader, values", () => {
  it("reads a 12-hour clock with AM/PM in any case", () => {
    const o = { format: "M/d/yyyy h:mm a", zone: "Europe/London" };
    expect(seconds("12/1/2010 12:05 AM", o)).toBe(1291161900n);
    expect(seconds("12/1/2010 12:05 pm", o)).toBe(1291205100n);
    expect(seconds("12/1/2010 8:26 Pm", o)).toBe(1291235160n);
    expect(seconds("12/1/2010 8:26 am", o)).toBe(1291191960n);
    expect(() => read("12/1/2010 0:26 am", o)).toThrow(/is not a time of the form/);
    expect(() => read("12/1/2010 13:26 pm", o)).toThrow(/is not a time of the form/);
  });

  it("keeps fractions of up to 9 digits exact", () => {
    const utc = { zone: "UTC" };
    expect(read("2010-12-01 08:26:00.123456789", utc)).toEqual({
      seconds: 1291191960n,
      nanos: 123456789,
    });
    expect(read("2010-12-01 08:26:00.5", utc).nanos).toBe(500_000_000);
    expect(read("2010-12-01 08:26:00.000000001", utc).nanos).toBe(1);
    expect(read("2010-12-01T08:26:00.999999999Z").nanos).toBe(999_999_999);
    expect(() => read("2010-12-01 08:26:00.1234567890", utc)).toThrow(/is not a time/);
    const millis = { format: "yyyy-MM-dd HH:mm:ss.SSS", zone: "UTC" };
    expect(read("2010-12-01 08:26:00.120", millis).nanos).toBe(120_000_000);
    expect(() => read("2010-12-01 08:26:00.12", millis)).toThrow(/is not a time/);
    const any = { format: "yyyy-MM-dd HH:mm:ss.S", zone: "UTC" };
    expect(read("2010-12-01 08:26:00.123456789", any).nanos).toBe(123456789);
    expect(read("2010-12-01 08:26:00.1", any).nanos).toBe(100_000_000);
  });

  it("uses an explicit offset and ignores the zone", () => {
    const london = { zone: "Europe/London" };
    // Repeated in London, but the offset says which one.
    expect(seconds("2011-10-30 01:30+01:00", london)).toBe(1319934600n);
    expect(seconds("2011-10-30T01:30:00+00:00", london)).toBe(1319938200n);
    expect(seconds("2010-12-01T08:26Z")).toBe(1291191960n);
    expect(seconds("2010-12-01 13:56+05:30")).toBe(1291191960n);
    expect(seconds("2010-12-01 02:26-05:00")).toBe(1291188360n);
    const xxx = { format: "dd.MM.yyyy HH:mm:ssXXX" };
    expect(seconds("01.12.2010 08:26:00z", xxx)).toBe(1291191960n);
    expect(() => read("01.12.2010 08:26:00+24:00", xxx)).toThrow(/is not a time/);
  });

  it("refuses a time without an offset when no zone was given", () => {
    expect(() => read("2010-12-01 08:26")).toThrow(
      new Error('"2010-12-01 08:26" has no offset and no time zone was given'),
    );
    expect(() => localTimeReader({ format: US, repeated: "reject", skipped: "reject" })).toThrow(
      /has no offset \(XXX\) and no time zone was given/,
    );
  });

  it("validates 29 February by leap year", () => {
    const utc = { zone: "UTC" };
    expect(seconds("2012-02-29 12:00", utc)).toBe(1330516800n);
    expect(seconds("2000-02-29 12:00", utc)).toBe(951825600n);
    expect(() => read("2011-02-29 12:00", utc)).toThrow(/is not a time of the form/);
    expect(() => read("1900-02-29 12:00", utc)).toThrow(/is not a time of the form/);
    expect(() => read("2012-02-30 12:00", utc)).toThrow(/is not a time of the form/);
    expect(() => read("2012-04-31 12:00", utc)).toThrow(/is not a time of the form/);
  });

  it("refuses values out of range or not of the pattern, echoing at most 40 characters", () => {
    const london = { format: US, zone: "Europe/London" };
    expect(() => read("13/1/2010 8:26", london)).toThrow(
      new Error('"13/1/2010 8:26" is not a time of the form M/d/yyyy H:mm'),
    );
    for (const bad of ["12/1/2010 24:00", "12/1/2010 8:60", "0/1/2010 8:26", "12/1/10 8:26", ""]) {
      expect(() => read(bad, london)).toThrow(/is not a time of the form M\/d\/yyyy H:mm$/);
    }
    expect(() => read("2010-12-01 08:26:60", { zone: "UTC" })).toThrow(/ISO 8601/);
    const long = `12/1/2010 8:26${"x".repeat(60)}`;
    expect(() => read(long, london)).toThrow(`"${long.slice(0, 40)}…" is not a time`);
  });

  it("reads quoted literals and other orders", () => {
    const utc = { zone: "UTC" };
    expect(seconds("2010-12-01T08:26", { ...utc, format: "yyyy-MM-dd'T'HH:mm" })).toBe(1291191960n);
    expect(seconds("01.12.2010 08:26:00", { ...utc, format: "dd.MM.yyyy HH:mm:ss" })).toBe(
      1291191960n,
    );
    expect(
      seconds("at 8:26 o'clock, 1/12/2010", { ...utc, format: "'at' H:mm 'o''clock', d/M/yyyy" }),
    ).toBe(1291191960n);
  });
});

describe("localTimeReader, options", () => {
  const base = { repeated: "reject", skipped: "reject" } as const;

  it("refuses an unknown zone when compiling", () => {
    expect(() => localTimeReader({ ...base, zone: "Europe/Londn" })).toThrow(
      new Error('"Europe/Londn" is not an IANA time zone (e.g. Europe/London)'),
    );
  });

  it.each([
    ["YYYY-MM-DD HH:mm", /"YYYY" is not a pattern letter/],
    ["yy-MM-dd HH:mm", /"yy" is not a pattern letter/],
    ["yyyy-MM-dd 'T HH:mm", /quote \('\) is not closed/],
    ["yyyy-MM-dd hh:mm", /12-hour clock/],
    ["yyyy-MM-dd HH:mm a", /12-hour clock/],
    ["yyyy-MM-dd HH", /no minute/],
    ["MM-dd HH:mm", /no year/],
    ["yyyy-MM-dd HH:mm:ss.SSSSSSSSSS", /at most 9 digits/],
    ["yyyy-MM-dd HH:mm.SSS", /needs seconds/],
    ["yyyy-MM-dd HH:mm:ss dd", /repeats a field/],
    ["yyyy-MM-ddXXX HH:mm", /must come last/],
  ])("refuses the pattern %s", (format, message) => {
    expect(() => localTimeReader({ ...base, zone: "UTC", format })).toThrow(message);
  });

  it("answers a repeated raw value from its cache without sharing the result object", () => {
    const reader = localTimeReader({ ...base, format: US, zone: "Europe/London" });
    const first = reader("12/1/2010 8:26");
    first.nanos = 7;
    expect(reader("12/1/2010 8:26")).toEqual({ seconds: 1291191960n, nanos: 0 });
    // Past the cache bound (10,000 values) answers stay right.
    for (let i = 0; i < 10_050; i++) {
      reader(`${(i % 12) + 1}/${(Math.floor(i / 12) % 28) + 1}/${2000 + Math.floor(i / 336)} 8:26`);
    }
    expect(reader("12/1/2010 8:26").seconds).toBe(1291191960n);
  });
});

describe("localTimeReader, property", () => {
  const zones = [
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
  ];

  /** The wall clock of an instant in a zone, as Intl writes it, in ISO form without offset. */
  function wallClock(zone: string, epochSeconds: number, nanos: number): string {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(epochSeconds * 1000);
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    const fraction = String(nanos).padStart(9, "0");
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${fraction}`;
  }

  it("reads back the wall clock of any instant 1970–2100 (one of two in a repeated hour)", () => {
    const readers = new Map(
      zones.map((zone) => [
        zone,
        {
          earlier: localTimeReader({ zone, repeated: "earlier", skipped: "reject" }),
          later: localTimeReader({ zone, repeated: "later", skipped: "reject" }),
        },
      ]),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 4102444799 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        (zone, epochSeconds, nanos) => {
          const wall = wallClock(zone, epochSeconds, nanos);
          const r = readers.get(zone);
          if (!r) throw new Error(zone);
          const earlier = r.earlier(wall);
          const later = r.later(wall);
          expect(earlier.nanos).toBe(nanos);
          expect([earlier.seconds, later.seconds]).toContain(BigInt(epochSeconds));
          expect(wallClock(zone, Number(earlier.seconds), nanos)).toBe(wall);
          expect(wallClock(zone, Number(later.seconds), nanos)).toBe(wall);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("reads back instants within hours of each zone's DST changes", () => {
    // Random instants land in a repeated hour rarely; these ones sit next to the changes.
    const reader = (zone: string) =>
      localTimeReader({ zone, repeated: "later", skipped: "reject" });
    fc.assert(
      fc.property(
        fc.constantFrom<[string, number]>(
          ["Europe/London", 1301187600],
          ["Europe/London", 1319936400],
          ["Australia/Lord_Howe", 1696087800],
          ["Australia/Lord_Howe", 1680361200],
          ["America/Sao_Paulo", 1541300400],
        ),
        fc.integer({ min: -7200, max: 7200 }),
        ([zone, change], delta) => {
          const t = change + delta;
          const wall = wallClock(zone, t, 0);
          const back = reader(zone)(wall);
          expect(wallClock(zone, Number(back.seconds), 0)).toBe(wall);
          expect(Number(back.seconds) >= t).toBe(true);
        },
      ),
    );
  });
});
