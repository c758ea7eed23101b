import {
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageShape,
  ScalarType,
} from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import "./text-encoding.js";
import { readVarint as readAnyVarint } from "./varint.js";

/**
 * Decodes `bytes` as protobuf-es' `fromBinary` does, after checking that they are well-formed the
 * way the reference parsers (C++, Go, upb) require: every field, nested or not, ends within the
 * message that holds it. protobuf-es 2.x does not check this: it reads a submessage while its
 * position is before the submessage's end, so a nested field that runs past that end is read
 * whole, and the bytes after it are then decoded as fields of the parent. A request whose sale
 * holds an overrunning `sale_id` would be taken as a different request (the sale's own
 * `location_id` bytes becoming the request's `idempotency_key`) instead of refused as malformed.
 *
 * Also refused, as malformed: a known field with a wire type its type cannot have, fields other
 * than key and value in a map entry, an end-group tag outside a group, varints over ten bytes,
 * nesting deeper than 100. Reference parsers keep the first two as unknown fields; protobuf-es
 * would misread them as the declared type, so refusing them is the only answer that never
 * decodes a message the client did not send. No encoder writes any of them. (Message fields in
 * delimited, group-style encoding, an editions feature this API does not use, are refused too.)
 *
 * @throws MalformedMessage when the bytes are not a well-formed message of `schema`, or whatever
 *   `fromBinary` throws.
 */
export function fromBinaryStrict<D extends DescMessage>(
  schema: D,
  bytes: Uint8Array,
): MessageShape<D> {
  checkMessage(bytes, 0, bytes.length, schema, 0);
  return fromBinary(schema, bytes);
}

/** Bytes that are not a well-formed protobuf message of the expected type. */
export class MalformedMessage extends Error {
  constructor(message: string, at: number) {
    super(`${message} at byte ${at}`);
    this.name = "MalformedMessage";
  }
}

/** The recursion limit of protobuf-es and of C++ protobuf. */
const MAX_DEPTH = 100;

/** Walks the fields in `[pos, end)` of a message of type `desc` (undefined: unknown group). */
function checkMessage(
  buf: Uint8Array,
  start: number,
  end: number,
  desc: DescMessage | undefined,
  depth: number,
): void {
  if (depth > MAX_DEPTH) throw new MalformedMessage("nested too deep", start);
  let pos = start;
  while (pos < end) {
    const [fieldNo, wireType, next] = readTag(buf, pos, end);
    if (wireType === WireType.EndGroup)
      throw new MalformedMessage("end-group tag outside a group", pos);
    const field = desc?.fields.find((f) => f.number === fieldNo);
    pos = field
      ? checkKnownField(buf, next, end, field, wireType, depth)
      : skipValue(buf, next, end, fieldNo, wireType, depth);
  }
}

function checkKnownField(
  buf: Uint8Array,
  pos: number,
  end: number,
  field: DescField,
  wireType: WireType,
  depth: number,
): number {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      expectWireType(wireType, wireTypeOf(field.scalar ?? ScalarType.INT32), field, pos);
      return skipValue(buf, pos, end, field.number, wireType, depth);
    case "message":
      expectWireType(wireType, WireType.LengthDelimited, field, pos);
      return checkSubmessage(buf, pos, end, field.message, depth);
    case "list": {
      if (field.listKind === "message") {
        expectWireType(wireType, WireType.LengthDelimited, field, pos);
        return checkSubmessage(buf, pos, end, field.message, depth);
      }
      const scalar = field.scalar ?? ScalarType.INT32;
      const single = wireTypeOf(scalar);
      if (wireType === single) return skipValue(buf, pos, end, field.number, wireType, depth);
      // Either encoding of a repeated number is accepted, packed or not, as the spec requires.
      expectWireType(wireType, WireType.LengthDelimited, field, pos);
      const [length, from] = readLength(buf, pos, end);
      const runEnd = from + length;
      let at = from;
      while (at < runEnd) at = skipValue(buf, at, runEnd, field.number, single, depth);
      return runEnd;
    }
    case "map": {
      expectWireType(wireType, WireType.LengthDelimited, field, pos);
      const [length, from] = readLength(buf, pos, end);
      const entryEnd = from + length;
      let at = from;
      while (at < entryEnd) {
        const [no, wt, next] = readTag(buf, at, entryEnd);
        if (no === 1) {
          expectWireType(wt, wireTypeOf(field.mapKey), field, at);
          at = skipValue(buf, next, entryEnd, no, wt, depth);
        } else if (no === 2 && field.mapKind === "message") {
          expectWireType(wt, WireType.LengthDelimited, field, at);
          at = checkSubmessage(buf, next, entryEnd, field.message, depth + 1);
        } else if (no === 2) {
          expectWireType(wt, wireTypeOf(field.scalar ?? ScalarType.INT32), field, at);
          at = skipValue(buf, next, entryEnd, no, wt, depth);
        } else {
          throw new MalformedMessage(`field ${no} in a map entry of ${field.name}`, at);
        }
      }
      return entryEnd;
    }
  }
}

function checkSubmessage(
  buf: Uint8Array,
  pos: number,
  end: number,
  desc: DescMessage,
  depth: number,
): number {
  const [length, from] = readLength(buf, pos, end);
  checkMessage(buf, from, from + length, desc, depth + 1);
  return from + length;
}

/** Skips one value of an unknown (or scalar) field, within `end`; returns where it ends. */
function skipValue(
  buf: Uint8Array,
  pos: number,
  end: number,
  fieldNo: number,
  wireType: WireType,
  depth: number,
): number {
  switch (wireType) {
    case WireType.Varint:
      return readVarint(buf, pos, end, 10)[1];
    case WireType.Bit64:
      return within(pos + 8, end, pos);
    case WireType.Bit32:
      return within(pos + 4, end, pos);
    case WireType.LengthDelimited: {
      const [length, from] = readLength(buf, pos, end);
      return from + length;
    }
    case WireType.StartGroup: {
      if (depth + 1 > MAX_DEPTH) throw new MalformedMessage("nested too deep", pos);
      let at = pos;
      for (;;) {
        const [no, wt, next] = readTag(buf, at, end);
        if (wt === WireType.EndGroup) {
          if (no !== fieldNo) throw new MalformedMessage("mismatched end-group tag", at);
          return next;
        }
        at = skipValue(buf, next, end, no, wt, depth + 1);
      }
    }
    default:
      throw new MalformedMessage(`wire type ${wireType}`, pos);
  }
}

function expectWireType(actual: WireType, expected: WireType, field: DescField, at: number): void {
  if (actual !== expected) {
    throw new MalformedMessage(`field ${field.name} with wire type ${actual}`, at);
  }
}

function wireTypeOf(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function readTag(buf: Uint8Array, pos: number, end: number): [number, WireType, number] {
  const [tag, next] = readVarint(buf, pos, end, 5);
  const fieldNo = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (tag > 0xffffffff || fieldNo === 0 || wireType > 5) {
    throw new MalformedMessage("invalid tag", pos);
  }
  return [fieldNo, wireType as WireType, next];
}

/** A length prefix and where its value starts; the value must end within `end`. */
function readLength(buf: Uint8Array, pos: number, end: number): [number, number] {
  const [length, from] = readVarint(buf, pos, end, 5);
  // Lengths are at most 2^31 - 1 for C++ protobuf; anything larger cannot fit anyway.
  within(from + length, end, pos);
  return [length, from];
}

/** A varint of at most `maxBytes` bytes ending within `end`; its value is exact up to 2^53. */
function readVarint(buf: Uint8Array, pos: number, end: number, maxBytes: number): [number, number] {
  const read = readAnyVarint(buf, pos, end, maxBytes);
  if (read === "truncated") throw new MalformedMessage("truncated varint", pos);
  if (read === "tooLong") throw new MalformedMessage(`varint longer than ${maxBytes} bytes`, pos);
  return read;
}

function within(at: number, end: number, from: number): number {
  if (at > end) throw new MalformedMessage("field runs past the end of its message", from);
  return at;
}
