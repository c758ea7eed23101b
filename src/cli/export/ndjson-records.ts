import type { Readable } from "node:stream";
import { parse } from "lossless-json";
import { CellError } from "../cell-error.js";
import { readLines } from "../lines.js";

/**
 * NDJSON an export writes, read through a mapping: each line an object that is one row, or,
 * with `items`, an object whose array field holds its line items, each item one row (fields
 * looked up in the item first, then in the object). Numbers are kept as written: "12.50" stays
 * 12.50, and an id of 20 digits is not rounded through a double.
 */

/** One row of an NDJSON export. */
export interface NdjsonRecord {
  readonly object: Record<string, unknown>;
  readonly item?: Record<string, unknown>;
  readonly line: number;
  readonly raw?: string;
}

/** A line that cannot be a row: not JSON, not an object, or too long. */
export interface NdjsonProblem {
  readonly problem: string;
  readonly line: number;
  readonly raw?: string;
}

/** Reads the rows of `input`; `items` names the array of line items, if the objects nest them. */
export async function* readNdjsonRecords(
  input: Readable,
  options: { items?: string | undefined; maxLineChars: number; keepRaw: boolean },
): AsyncGenerator<NdjsonRecord | NdjsonProblem> {
  const itemsPath = options.items?.split(".");
  for await (const { text, line, tooLong } of readLines(input, options.maxLineChars)) {
    if (tooLong) {
      yield { problem: `line longer than ${options.maxLineChars} characters`, line };
      continue;
    }
    const json = line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text;
    if (json.trim() === "") continue;
    const raw = options.keepRaw ? json : undefined;
    let value: unknown;
    try {
      value = parse(json, null, (n: string) => n);
    } catch (err) {
      yield {
        problem: `not JSON: ${(err as Error).message}`,
        line,
        ...(raw !== undefined && { raw }),
      };
      continue;
    }
    if (!isObject(value)) {
      yield { problem: "not a JSON object", line, ...(raw !== undefined && { raw }) };
      continue;
    }
    if (!itemsPath) {
      yield { object: value, line, ...(raw !== undefined && { raw }) };
      continue;
    }
    const items = lookup(value, itemsPath);
    if (!Array.isArray(items) || items.length === 0 || !items.every(isObject)) {
      yield {
        problem: `${options.items} is not a non-empty array of objects`,
        line,
        ...(raw !== undefined && { raw }),
      };
      continue;
    }
    for (const item of items)
      yield { object: value, item, line, ...(raw !== undefined && { raw }) };
  }
}

/** A getter for a dotted field path: the item's field if it has it, else the object's. */
export function ndjsonField(name: string): (record: NdjsonRecord) => string | undefined {
  const path = name.split(".");
  return (record) => {
    const found = record.item !== undefined ? lookup(record.item, path) : undefined;
    return scalar(found !== undefined ? found : lookup(record.object, path), name);
  };
}

/** The names of a record's fields (and its item's) that are scalars: those a mapping reads. */
export function fieldNames(record: NdjsonRecord, itemsField: string | undefined): string[] {
  // The items' container is read as the items, however deep they are ("order.lines").
  const container = itemsField?.split(".")[0];
  const names = Object.keys(record.object).filter((k) => k !== container);
  return record.item ? [...names, ...Object.keys(record.item)] : names;
}

function scalar(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  throw new CellError(name, "is an object or array, not a single value");
}

function lookup(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const key of path) {
    if (!isObject(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
