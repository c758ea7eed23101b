/**
 * Whether `bytes`, the encoding of a Sale that decoded without error, are already the canonical
 * encoding of that sale (see canonicalSaleBytes in src/ingest/canonical.ts): exactly what
 * protobuf-es writes for the decoded sale once its attributes are in key order. When they are,
 * the client's bytes can be hashed and stored as they are, and the re-encoding, which costs more
 * than the rest of the ingest path, is skipped.
 *
 * A schema-specific scan, written against sale.proto like the fast decoder: known fields only,
 * in field-number order (a repeated field's elements together), none at its default value
 * (protobuf-es writes no empty string and no zero), every varint and length prefix in its
 * shortest form, map entries as key then value with keys in ascending order. Answering false is
 * always safe (the sale is then re-encoded), so anything unusual is false: unknown fields,
 * negative numbers, attribute keys that are not ASCII, that are all digits (JavaScript orders
 * such object keys numerically) or that name an Object.prototype member.
 *
 * Strings are not checked for valid UTF-8: the bytes decoded, and decoding refuses invalid UTF-8.
 */
export function isCanonicalSaleEncoding(bytes: Uint8Array): boolean {
  return scan(new Scanner(bytes), 0, bytes.length, SALE);
}

/** How a field is encoded: its wire type follows from the kind. */
type Kind = "string" | "int64" | "int32" | "map" | Fields;
interface Field {
  readonly kind: Kind;
  readonly repeated?: true;
}
/** A message's fields, indexed by field number. */
type Fields = readonly (Field | undefined)[];

const TIMESTAMP: Fields = [undefined, { kind: "int64" }, { kind: "int32" }];
const LINE_ITEM: Fields = [
  undefined,
  { kind: "string" },
  { kind: "string" },
  { kind: "int64" },
  { kind: "int64" },
  { kind: "int64" },
  { kind: "int64" },
];
const PAYMENT: Fields = [undefined, { kind: "int32" }, { kind: "int64" }];
const TOTALS: Fields = [
  undefined,
  { kind: "int64" },
  { kind: "int64" },
  { kind: "int64" },
  { kind: "int64" },
];
const CUSTOMER: Fields = [
  undefined,
  { kind: "string" },
  { kind: "string" },
  { kind: "string" },
  { kind: "string" },
];
const SALE: Fields = [
  undefined,
  { kind: "string" },
  { kind: "string" },
  { kind: "string" },
  { kind: "string" },
  { kind: TIMESTAMP },
  { kind: "string" },
  { kind: LINE_ITEM, repeated: true },
  { kind: PAYMENT, repeated: true },
  { kind: TOTALS },
  { kind: CUSTOMER },
  { kind: "map", repeated: true },
];

/** Whether `[start, end)` is the canonical encoding of a message with these fields. */
function scan(r: Scanner, start: number, end: number, fields: Fields): boolean {
  const buf = r.buf;
  let pos = start;
  let last = 0;
  // The previous attribute key, as [keyStart, keyEnd) in buf: keys must ascend.
  let keyStart = -1;
  let keyEnd = -1;
  while (pos < end) {
    const tag = buf[pos++] as number;
    const no = tag >> 3;
    const field = tag < 0x80 ? fields[no] : undefined;
    if (field === undefined || (tag & 7) !== wireType(field.kind)) return false;
    if (no < last || (no === last && !field.repeated)) return false;
    last = no;
    const kind = field.kind;
    if (kind === "int64" || kind === "int32") {
      pos = r.varint(pos, end, kind === "int64" ? 2 ** 63 : 2 ** 31);
      if (pos < 0) return false;
      continue;
    }
    const from = r.length(pos, end);
    if (from < 0) return false;
    const to = from + r.value;
    if (kind === "string") {
      if (to === from) return false; // an empty string is the default: never written
    } else if (kind === "map") {
      // Key (field 1) then value (field 2), both always written, nothing else.
      if (buf[from] !== 0x0a) return false;
      const key = r.length(from + 1, to);
      if (key < 0) return false;
      const thisKeyEnd = key + r.value;
      if (!isOrdinaryKey(buf, key, thisKeyEnd)) return false;
      if (keyStart >= 0 && compare(buf, keyStart, keyEnd, key, thisKeyEnd) >= 0) return false;
      if (buf[thisKeyEnd] !== 0x12) return false;
      const value = r.length(thisKeyEnd + 1, to);
      if (value < 0 || value + r.value !== to) return false;
      keyStart = key;
      keyEnd = thisKeyEnd;
    } else if (!scan(r, from, to, kind)) {
      return false;
    }
    pos = to;
  }
  return pos === end;
}

function wireType(kind: Kind): number {
  return kind === "int64" || kind === "int32" ? 0 : 2;
}

/** Reads varints off one buffer; `value` holds the last one read. */
class Scanner {
  value = 0;
  constructor(readonly buf: Uint8Array) {}

  /**
   * A non-zero varint in its shortest form, below `limit`, ending within `end`: returns the
   * position after it, or -1.
   */
  varint(pos: number, end: number, limit: number): number {
    let value = 0;
    let scale = 1;
    for (let i = pos; i < end && i < pos + 9; i++) {
      const b = this.buf[i] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        // A zero last byte is padding (or, alone, the default zero): not the shortest form.
        if (b === 0 || value >= limit) return -1;
        this.value = value;
        return i + 1;
      }
      scale *= 0x80;
    }
    return -1;
  }

  /** A length prefix in its shortest form whose value fits before `end`; -1 otherwise. */
  length(pos: number, end: number): number {
    const first = this.buf[pos];
    if (first === undefined || pos >= end) return -1;
    let next: number;
    if (first < 0x80) {
      this.value = first;
      next = pos + 1;
    } else {
      next = this.varint(pos, end, 2 ** 31);
      if (next < 0) return -1;
    }
    return next + this.value <= end ? next : -1;
  }
}

/**
 * Whether an attribute key keeps its place when the sorted keys are put in an object: ASCII
 * (byte order is then code-unit order, which canonicalSaleBytes sorts by), not all digits
 * (JavaScript orders integer-like keys first, numerically) and no Object.prototype member.
 */
function isOrdinaryKey(buf: Uint8Array, from: number, to: number): boolean {
  let digits = to > from;
  let key = "";
  for (let i = from; i < to; i++) {
    const c = buf[i] as number;
    if (c >= 0x80) return false;
    if (c < 0x30 || c > 0x39) digits = false;
    key += String.fromCharCode(c);
  }
  return !digits && !(key in Object.prototype);
}

/** Compares two byte ranges of `buf` as unsigned bytes: <0, 0 or >0. */
function compare(buf: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): number {
  for (; a < aEnd && b < bEnd; a++, b++) {
    const d = (buf[a] as number) - (buf[b] as number);
    if (d !== 0) return d;
  }
  return aEnd - a - (bEnd - b);
}
