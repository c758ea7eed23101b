import { currencyExponent } from "../../contract/iso4217.js";
import { CellError } from "../cell-error.js";
import { fieldsProblem, KNOWN_COLUMNS, type Row } from "../csv-columns.js";
import { clip } from "../csv-values.js";
import { type LocalTimeOptions, localTimeReader } from "./local-time.js";
import { numberReader } from "./locale-number.js";
import { MAJOR_AMOUNTS, type Mapping } from "./mapping-file.js";

/**
 * A mapping compiled against one source (a CSV header, or NDJSON objects): a function from a
 * source record to a row of the plain format's columns, which the plain reader then turns into
 * transactions. Work that depends only on the mapping (finding columns, compiling patterns and
 * the time zone) is done here once, not per row.
 */

/** How the mapper reads a source: a getter per column name (CSV) or field path (NDJSON). */
export interface SourceAccess<R> {
  /**
   * A getter for `name`, or undefined when the source has no such column; the getter gives
   * undefined for a record that lacks the field (an NDJSON object), "" for an empty cell.
   */
  column(name: string): ((record: R) => string | undefined) | undefined;
  /** The source's columns, when it has a header: those nobody reads stop the load. */
  readonly columns?: readonly string[];
}

/** A compiled mapping. */
export interface RowMapper<R> {
  /**
   * The row `record` makes, and, when one of its cells cannot be converted (a time, a number),
   * the CellError naming the field: the row still names its transaction, which is refused whole.
   * The same when a cell cannot be read at all (an NDJSON object where a value should be),
   * unless it is one of the transaction's key fields: then it throws, the row naming none.
   */
  map(record: R): { row: Row; problem?: unknown };
  /** The source column that feeds `field`, for messages ("occurred_at ← InvoiceDate"). */
  sourceOf(field: string): string | undefined;
  /** Whether a field name in the source's records is read or ignored (NDJSON's check). */
  knows(name: string): boolean;
}

type Getter<R> = (record: R) => string | undefined;

/** The fields that name a row's transaction (the reader's grouping key). */
const KEY_FIELDS = new Set(["source", "location_id", "sale_id"]);

const NUMBER_FIELDS = new Set<string>([
  "quantity",
  "unit_price",
  "unit_price_minor",
  ...KNOWN_COLUMNS.filter((c) => c.endsWith("_minor")),
  ...Object.keys(MAJOR_AMOUNTS),
]);

/** Compiles `mapping` for a source; throws (the load stops) naming what does not fit. */
export function compileMapping<R>(mapping: Mapping, source: SourceAccess<R>): RowMapper<R> {
  const used = new Set<string>(mapping.ignore);
  const sourceOf = new Map<string, string>();
  const need = (name: string, where: string): Getter<R> => {
    const get = source.column(name);
    if (!get) throw new Error(`mapping ${where}: the export has no column "${name}"`);
    used.add(name);
    return get;
  };

  const steps: { field: string; get: Getter<R> }[] = [];
  for (const [field, spec] of Object.entries(mapping.columns)) {
    if (spec === undefined) continue;
    if (field in mapping.values) {
      throw new Error(`mapping: ${field} is in both columns and values`);
    }
    const where = `columns.${field}`;
    if (typeof spec === "string") {
      steps.push({
        field,
        get: spec.includes("{") ? template(spec, where, need) : need(spec, where),
      });
      sourceOf.set(field, spec);
    } else {
      const get = need(spec.from, where);
      const table = new Map(Object.entries(spec.map));
      const fallback = spec.default;
      steps.push({
        field,
        get: (r) => {
          const v = get(r);
          return v === undefined ? undefined : (table.get(v) ?? fallback ?? v);
        },
      });
      sourceOf.set(field, spec.from);
    }
  }
  for (const [field, value] of Object.entries(mapping.values)) {
    if (value !== undefined) steps.push({ field, get: () => value });
  }
  // What the mapping does not name is read from a column of the field's own name, so a plain
  // file needs no mapping and a nearly plain one only the columns that differ.
  const named = new Set(steps.map((s) => s.field));
  for (const field of KNOWN_COLUMNS) {
    const major = majorOf(field);
    if (named.has(field) || used.has(field) || (major && named.has(major))) continue;
    const get =
      source.columns === undefined || source.columns.includes(field)
        ? source.column(field)
        : undefined;
    if (get) {
      steps.push({ field, get });
      used.add(field);
      named.add(field);
    }
  }

  const rules = mapping.rules.map((rule, i) => {
    const w = rule.when;
    const where = `rules[${i}].when`;
    const subject: (record: R, row: Row) => string =
      w.column !== undefined
        ? (
            (get) => (record: R) =>
              get(record) ?? ""
          )(need(w.column, where))
        : (
            (field) => (_: R, row: Row) =>
              row[field] ?? ""
          )(w.field as string);
    const test = testOf(w);
    const set = Object.entries(rule.set).filter((e): e is [string, string] => e[1] !== undefined);
    for (const [field] of set) named.add(field);
    return { applies: (record: R, row: Row) => test(subject(record, row)), set };
  });

  for (const [major, minor] of Object.entries(MAJOR_AMOUNTS)) {
    if (named.has(major) && named.has(minor)) {
      throw new Error(`mapping: give ${major} (major units) or ${minor}, not both`);
    }
  }
  if (source.columns) {
    // Columns are found by name, so a second column of a name would silently not be read.
    const all = source.columns;
    const twice = all.filter((c, i) => all.indexOf(c) !== i && !mapping.ignore.includes(c));
    if (twice.length > 0) {
      throw new Error(
        `the export has column(s) ${[...new Set(twice)].map((c) => `"${c}"`).join(", ")} more than once: which one feeds the mapping cannot be told (list them in "ignore" to read neither)`,
      );
    }
    const unread = source.columns.filter((c) => !used.has(c));
    if (unread.length > 0) {
      throw new Error(
        `the export has column(s) ${unread.map((c) => `"${c}"`).join(", ")} that the mapping does not read: map them, or list them in "ignore"`,
      );
    }
    const fields = [...named].map((f) => MAJOR_AMOUNTS[f as keyof typeof MAJOR_AMOUNTS] ?? f);
    const problem = fieldsProblem(fields, {
      paymentsOptional: mapping.tender !== undefined,
      what: "the mapped export",
    });
    if (problem) throw new Error(problem);
  }

  const convert = converters(mapping, named);
  // A nested field ("customer.id") makes its top-level field ("customer") one the mapping reads.
  const top = new Set([...used].map((name) => name.split(".")[0]));
  return {
    map(record: R) {
      const row: Row = {};
      // A bad cell does not stop the others: the row still names its transaction.
      let unread: { problem: unknown } | undefined;
      for (const s of steps) {
        try {
          const v = s.get(record);
          if (v !== undefined) row[s.field] = v;
        } catch (problem) {
          if (KEY_FIELDS.has(s.field)) throw problem;
          unread ??= { problem };
        }
      }
      for (const rule of rules) {
        try {
          if (rule.applies(record, row)) for (const [field, value] of rule.set) row[field] = value;
        } catch (problem) {
          unread ??= { problem };
        }
      }
      if (unread) return { row, problem: unread.problem };
      try {
        for (const c of convert) c(row);
      } catch (problem) {
        return { row, problem };
      }
      return { row };
    },
    sourceOf: (field) => sourceOf.get(field) ?? sourceOf.get(majorOf(field) ?? ""),
    knows: (name) => top.has(name),
  };
}

function majorOf(minor: string): string | undefined {
  return Object.entries(MAJOR_AMOUNTS).find(([, m]) => m === minor)?.[0];
}

/** The per-row rewrites a mapping asks for: number style, major units, local times. */
function converters(mapping: Mapping, named: ReadonlySet<string>): ((row: Row) => void)[] {
  const out: ((row: Row) => void)[] = [];
  const style = mapping.numbers;
  if (style && (style.decimal !== "." || style.thousands !== "")) {
    const read = numberReader(style);
    const fields = [...named].filter((f) => NUMBER_FIELDS.has(f));
    out.push((row) => {
      for (const f of fields) {
        const v = row[f];
        if (v === undefined) continue;
        try {
          row[f] = read(v);
        } catch (err) {
          throw new CellError(f, (err as Error).message);
        }
      }
    });
  }
  for (const [major, minor] of Object.entries(MAJOR_AMOUNTS)) {
    if (!named.has(major)) continue;
    out.push((row) => {
      const v = row[major];
      if (v === undefined) return;
      delete row[major];
      row[minor] = minorUnits(v, row.currency ?? "", major);
    });
  }
  if (mapping.time) {
    const options: LocalTimeOptions = {
      ...(mapping.time.format !== undefined && { format: mapping.time.format }),
      ...(mapping.time.zone !== undefined && { zone: mapping.time.zone }),
      repeated: mapping.time.repeated,
      skipped: mapping.time.skipped,
    };
    const read = localTimeReader(options);
    const asText = new Map<string, string>();
    out.push((row) => {
      const raw = row.occurred_at ?? "";
      let iso = asText.get(raw);
      if (iso === undefined) {
        try {
          iso = rfc3339(read(raw));
        } catch (err) {
          throw new CellError("occurred_at", (err as Error).message);
        }
        if (asText.size >= 10_000) asText.clear();
        asText.set(raw, iso);
      }
      row.occurred_at = iso;
    });
  }
  return out;
}

/** "12.5" GBP → "1250": exact, refusing more decimals than the currency has. */
export function minorUnits(raw: string, currency: string, field: string): string {
  const value = raw.trim();
  if (value === "") return "";
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new CellError(field, `unknown currency "${clip(currency)}"`);
  const m = /^([+-]?)(\d{1,19})(?:\.(\d*))?$/.exec(value);
  if (!m) throw new CellError(field, `"${clip(value)}" is not a decimal amount`);
  const fraction = m[3] ?? "";
  if (fraction.replace(/0+$/, "").length > exponent) {
    throw new CellError(field, `"${clip(value)}" has more decimals than ${currency}'s ${exponent}`);
  }
  const digits = `${m[2]}${fraction.padEnd(exponent, "0").slice(0, exponent)}`.replace(
    /^0+(?=\d)/,
    "",
  );
  return m[1] === "-" && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

function rfc3339(t: { seconds: bigint; nanos: number }): string {
  const iso = new Date(Number(t.seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${String(t.nanos).padStart(9, "0")}Z`;
}

function template<R>(
  spec: string,
  where: string,
  need: (name: string, where: string) => Getter<R>,
): Getter<R> {
  const parts: (string | Getter<R>)[] = [];
  const re = /\{([^{}]+)\}/g;
  let at = 0;
  for (let m = re.exec(spec); m !== null; m = re.exec(spec)) {
    if (m.index > at) parts.push(spec.slice(at, m.index));
    parts.push(need(m[1] as string, where));
    at = m.index + m[0].length;
  }
  if (at < spec.length) parts.push(spec.slice(at));
  return (record) => {
    let s = "";
    for (const p of parts) s += typeof p === "string" ? p : (p(record) ?? "");
    return s;
  };
}

function testOf(w: Mapping["rules"][number]["when"]): (value: string) => boolean {
  if (w.equals !== undefined) {
    const x = w.equals;
    return (v) => v === x;
  }
  if (w.in !== undefined) {
    const set = new Set(w.in);
    return (v) => set.has(v);
  }
  if (w.startsWith !== undefined) {
    const x = w.startsWith;
    return (v) => v.startsWith(x);
  }
  if (w.endsWith !== undefined) {
    const x = w.endsWith;
    return (v) => v.endsWith(x);
  }
  if (w.matches !== undefined) {
    const re = new RegExp(w.matches, "u");
    return (v) => re.test(v);
  }
  const empty = w.empty === true;
  return (v) => (v.trim() === "") === empty;
}
