import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TenderType } from "../../../gen/pos/ingest/v1/sale_pb.js";
import { type CsvColumn, KNOWN_COLUMNS } from "../csv-columns.js";

/**
 * The mapping that lets `pos-ingest send` read an export as it is (README, "Loading an export"):
 * which source column feeds which field, fixed values, the export's time zone and number style,
 * rules (an invoice number starting with C is a return), and a tender for exports without one.
 * Kept in a JSON or YAML file beside a recurring export; flags add to it and win.
 */

/**
 * Amount fields an export may give in major units ("12.50" pounds): each is converted exactly to
 * its `_minor` field by the currency's exponent.
 */
export const MAJOR_AMOUNTS = {
  line_discount: "line_discount_minor",
  line_tax: "line_tax_minor",
  subtotal: "subtotal_minor",
  discount: "discount_minor",
  tax: "tax_minor",
  total: "total_minor",
  service_charge: "service_charge_minor",
  included_tax: "included_tax_minor",
  rounding: "rounding_minor",
  tip: "tip_minor",
} as const satisfies Record<string, CsvColumn>;

/** A field a mapping can fill: a column of the plain CSV format, or an amount in major units. */
export type Target = CsvColumn | keyof typeof MAJOR_AMOUNTS;
const TARGETS = [...KNOWN_COLUMNS, ...Object.keys(MAJOR_AMOUNTS)] as [Target, ...Target[]];
const notAField = (input: unknown) =>
  `"${String(input)}" is not a field (see README, "Loading an export")`;
const target = z.enum(TARGETS, { error: (issue) => notAField(issue.input) });
const TARGET_NAMES = new Set<string>(TARGETS);
/**
 * A record's key naming a field. Not the enum: zod reports a record key outside an enum as
 * "Unrecognized key" at the record's path, so the message would name neither the key's path
 * nor what is wrong with it.
 */
const targetKey = z.custom<Target>((key) => typeof key === "string" && TARGET_NAMES.has(key), {
  error: (issue) => notAField(issue.input),
});

const text = z.string().min(1);
/** A source column, a template ("{Store}-{InvoiceNo}"), or a column with a value table. */
const columnSpec = z.union([
  text,
  z.strictObject({
    from: text,
    map: z.record(z.string(), z.string()),
    /** For a value the table lacks; absent, such a value is kept as it is. */
    default: z.string().optional(),
  }),
]);

const condition = z
  .strictObject({
    column: text.optional(),
    field: target.optional(),
    equals: z.string().optional(),
    in: z.array(z.string()).optional(),
    startsWith: text.optional(),
    endsWith: text.optional(),
    matches: text.refine((s) => isRegExp(s), { message: "is not a regular expression" }).optional(),
    empty: z.boolean().optional(),
  })
  .refine((c) => (c.column === undefined) !== (c.field === undefined), {
    message: "names exactly one of column (of the export) or field (after mapping)",
  })
  .refine(
    (c) => TESTS.filter((t) => c[t] !== undefined).length === 1,
    `has exactly one test: ${"equals, in, startsWith, endsWith, matches, empty"}`,
  );
const TESTS = ["equals", "in", "startsWith", "endsWith", "matches", "empty"] as const;

const TENDERS = Object.keys(TenderType).filter(
  (k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED",
) as [string, ...string[]];
const THOUSANDS = ["", ",", ".", " ", "'", "\u00a0", "\u202f"] as const;

/** A mapping file's contents. Every part is optional: an empty mapping reads the plain format. */
export const MappingSchema = z.strictObject({
  /** csv or ndjson; absent, the file name decides (.csv is CSV). */
  format: z.enum(["csv", "ndjson"]).optional(),
  csv: z
    .strictObject({
      /** Absent: detected from the header line among , ; TAB and |. */
      delimiter: z.string().length(1).optional(),
      quote: z.string().length(1).optional(),
      escape: z.string().length(1).optional(),
    })
    .optional(),
  ndjson: z
    .strictObject({
      /** A field holding the line items of each object; absent, each object is one row. */
      items: text.optional(),
    })
    .optional(),
  numbers: z
    .strictObject({
      decimal: z.enum([".", ","]).default("."),
      thousands: z.enum(THOUSANDS).default(""),
    })
    .refine((n) => n.decimal !== n.thousands, "decimal and thousands must differ")
    .optional(),
  columns: z.partialRecord(targetKey, columnSpec).default({}),
  values: z.partialRecord(targetKey, z.string()).default({}),
  /** Source columns deliberately not read (others unknown to the mapping stop the load). */
  ignore: z.array(text).default([]),
  time: z
    .strictObject({
      format: text.optional(),
      zone: text.optional(),
      repeated: z.enum(["earlier", "later", "reject"]).default("earlier"),
      skipped: z.enum(["reject", "later", "earlier"]).default("reject"),
    })
    .optional(),
  rules: z
    .array(z.strictObject({ when: condition, set: z.partialRecord(targetKey, z.string()) }))
    .default([]),
  /** For an export without tenders: one payment of this type for each transaction's total. */
  tender: z.strictObject({ type: z.enum(TENDERS) }).optional(),
  group: z.strictObject({ window: z.number().int().min(1).max(10_000_000) }).optional(),
});

/** A mapping as read and checked. */
export type Mapping = z.infer<typeof MappingSchema>;
/** A mapping as written (defaults not yet applied). */
export type MappingInput = z.input<typeof MappingSchema>;

/** Reads a mapping file (.yaml/.yml as YAML, otherwise JSON); throws naming the bad part. */
export async function loadMappingFile(path: string): Promise<MappingInput> {
  const content = await readFile(path, "utf8");
  try {
    return /\.ya?ml$/i.test(path) ? parseYaml(content) : JSON.parse(content);
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The mapping flags of `send`, each adding to (and beating) the mapping file. */
export interface MappingFlags {
  readonly map?: readonly string[];
  readonly set?: readonly string[];
  readonly timeZone?: string;
  readonly timeFormat?: string;
  readonly delimiter?: string;
  readonly decimalComma?: boolean;
  readonly tender?: string;
  readonly groupWindow?: number;
}

/** Whether any flag asks for a mapping. */
export function hasMappingFlags(f: MappingFlags): boolean {
  return Boolean(
    f.map?.length ||
      f.set?.length ||
      f.timeZone ||
      f.timeFormat ||
      f.delimiter ||
      f.decimalComma ||
      f.tender ||
      f.groupWindow,
  );
}

/** The file's mapping with the flags applied, checked; `origin` names it in errors. */
export function resolveMapping(
  file: MappingInput | undefined,
  flags: MappingFlags,
  origin: string,
): Mapping {
  // A YAML text or a JSON list would otherwise be spread into keys "0", "1", ….
  if (file !== undefined && file !== null && (typeof file !== "object" || Array.isArray(file))) {
    throw new Error(`${origin}: (mapping): expected an object of mapping keys`);
  }
  const m = structuredClone((file ?? {}) as Record<string, unknown>) as Record<string, never>;
  const pairs = (list: readonly string[] | undefined, flag: string) =>
    Object.fromEntries(
      (list ?? []).map((p) => {
        const at = p.indexOf("=");
        if (at < 1) throw new Error(`${flag} ${p}: expected field=value`);
        return [p.slice(0, at), p.slice(at + 1)];
      }),
    );
  const merged: Record<string, unknown> = {
    ...m,
    columns: { ...(m.columns ?? {}), ...pairs(flags.map, "--map") },
    values: { ...(m.values ?? {}), ...pairs(flags.set, "--set") },
  };
  if (flags.timeZone || flags.timeFormat) {
    merged.time = {
      ...(m.time ?? {}),
      ...(flags.timeZone && { zone: flags.timeZone }),
      ...(flags.timeFormat && { format: flags.timeFormat }),
    };
  }
  if (flags.delimiter) {
    const delimiter =
      flags.delimiter === "\\t" || flags.delimiter === "tab" ? "\t" : flags.delimiter;
    merged.csv = { ...(m.csv ?? {}), delimiter };
  }
  if (flags.decimalComma) merged.numbers = { ...(m.numbers ?? {}), decimal: "," };
  if (flags.tender) merged.tender = { type: flags.tender.toUpperCase() };
  if (flags.groupWindow) merged.group = { window: flags.groupWindow };
  const parsed = MappingSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "(mapping)";
    // A bad record key's own issue says what is wrong with it ("skux" is not a field).
    const cause = issue?.code === "invalid_key" ? (issue.issues[0] ?? issue) : issue;
    throw new Error(`${origin}: ${path}: ${cause?.message ?? "invalid"}`);
  }
  return Object.freeze(parsed.data);
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, "u");
    return true;
  } catch {
    return false;
  }
}
