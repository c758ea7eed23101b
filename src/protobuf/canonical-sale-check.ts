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
 * shortest form (a negative int64 in the ten bytes of its two's complement, a true bool as 1),
 * map entries as key then value with keys in ascending order. Answering false is always safe (the
 * sale is then re-encoded), so anything unusual is false: unknown fields, negative enums and
 * nanos (never valid), attribute keys that are not ASCII, that are all digits (JavaScript orders
 * such object keys numerically) or that name an Object.prototype member.
 *
 * Strings are not checked for valid UTF-8: the bytes decoded, and decoding refuses invalid UTF-8.
 */
export function isCanonicalSaleEncoding(bytes: Uint8Array): boolean {
  return scan(new Scanner(bytes), 0, bytes.length, SALE);
}

/** How a field is encoded: its wire type follows from the kind. */
type Kind = Varint | "string" | "map" | Fields;
/** Varint kinds; enums are "int32". */
type Varint = "int64" | "int32" | "uint32" | "bool";
interface Field {
  readonly kind: Kind;
  readonly repeated?: true;
}
/** A message's fields, indexed by field number. */
type Fields = readonly (Field | undefined)[];

const STRING: Field = { kind: "string" };
const INT64: Field = { kind: "int64" };
const INT32: Field = { kind: "int32" };
const TIMESTAMP: Fields = [undefined, INT64, INT32];
const LINE_TAX: Fields = [undefined, STRING, STRING, INT64, INT64, INT32];
const APPLIED_DISCOUNT: Fields = [undefined, { kind: "uint32" }, INT64];
const LINE_ITEM: Fields = [
  undefined,
  STRING,
  STRING,
  INT64,
  INT64,
  INT64,
  INT64,
  INT32,
  { kind: "bool" },
  { kind: LINE_TAX, repeated: true },
  { kind: APPLIED_DISCOUNT, repeated: true },
  INT64,
  { kind: "uint32" },
  STRING,
  STRING,
];
const PAYMENT: Fields = [undefined, INT32, INT64, INT64, INT64, INT64, STRING, STRING];
const TOTALS: Fields = [undefined, INT64, INT64, INT64, INT64, INT64, INT64, INT64, INT64];
const CUSTOMER: Fields = [undefined, STRING, STRING, STRING, STRING];
const ORIGINAL: Fields = [undefined, STRING, STRING, STRING, STRING, INT32];
const BASKET_DISCOUNT: Fields = [undefined, STRING, STRING, INT64, INT64];
const SERVICE_CHARGE: Fields = [
  undefined,
  STRING,
  STRING,
  INT64,
  INT32,
  { kind: LINE_TAX, repeated: true },
];
const CASH_ROUNDING: Fields = [undefined, INT64, INT32];
const SALE: Fields = [
  undefined,
  STRING,
  STRING,
  STRING,
  STRING,
  { kind: TIMESTAMP },
  STRING,
  { kind: LINE_ITEM, repeated: true },
  { kind: PAYMENT, repeated: true },
  { kind: TOTALS },
  { kind: CUSTOMER },
  { kind: "map", repeated: true },
  INT32,
  { kind: ORIGINAL },
  STRING,
  STRING,
  STRING,
  { kind: BASKET_DISCOUNT, repeated: true },
  { kind: SERVICE_CHARGE, repeated: true },
  { kind: CASH_ROUNDING },
  INT32,
];

/** Exclusive upper bound of each varint kind's values (int64: of its non-negative ones). */
const LIMIT: Record<Varint, number> = { int64: 2 ** 63, int32: 2 ** 31, uint32: 2 ** 32, bool: 2 };

/** Whether `[start, end)` is the canonical encoding of a message with these fields. */
function scan(r: Scanner, start: number, end: number, fields: Fields): boolean {
  const buf = r.buf;
  let pos = start;
  let last = 0;
  // The previous attribute key, as [keyStart, keyEnd) in buf: keys must ascend.
  let keyStart = -1;
  let keyEnd = -1;
  while (pos < end) {
    let tag = buf[pos++] as number;
    // Fields 16-31 take a two-byte tag whose second byte is 1 in its shortest form.
    if (tag >= 0x80) {
      if (pos >= end || buf[pos++] !== 0x01) return false;
      tag = (tag & 0x7f) | 0x80;
    }
    const no = tag >> 3;
    const field = fields[no];
    if (field === undefined || (tag & 7) !== wireType(field.kind)) return false;
    if (no < last || (no === last && !field.repeated)) return false;
    last = no;
    const kind = field.kind;
    if (isVarint(kind)) {
      pos = kind === "int64" ? r.int64(pos, end) : r.varint(pos, end, LIMIT[kind]);
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

function isVarint(kind: Kind): kind is Varint {
  return kind === "int64" || kind === "int32" || kind === "uint32" || kind === "bool";
}

function wireType(kind: Kind): number {
  return isVarint(kind) ? 0 : 2;
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

  /**
   * A non-zero int64 in its shortest form: a varint below 2^63, or the ten bytes protobuf-es
   * writes for a negative value (nine with the continuation bit, then 0x01), which decode to that
   * value and nothing else. Returns the position after it, or -1.
   */
  int64(pos: number, end: number): number {
    const next = this.varint(pos, end, 2 ** 63);
    if (next >= 0 || pos + 10 > end) return next;
    for (let i = pos; i < pos + 9; i++) if ((this.buf[i] as number) < 0x80) return -1;
    return this.buf[pos + 9] === 0x01 ? pos + 10 : -1;
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
