import { getTextEncoding } from "@bufbuild/protobuf/wire";
import "./text-encoding.js";

/**
 * The byte reader of the schema-specific IngestRequest decoder (ingest-request-decoder.ts). Each
 * read returns exactly what protobuf-es' BinaryReader returns for the same bytes, or throws
 * {@link UNEXPECTED} where matching it exactly would take more than the shape encoders write:
 * the decoder then declines and protobuf-es decodes.
 */

/** Thrown inside the decoder for any input outside the fast path; never escapes it. */
export const UNEXPECTED = Symbol("unexpected input");

/** Largest varint read as a number: seven bytes, 49 bits, exact in a double. */
const MAX_VARINT_BYTES = 7;
const TWO_POW_49 = 2 ** 49;
/** Longest length prefix strict-decode.ts accepts (a uint32's). */
const MAX_LENGTH_BYTES = 5;

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw UNEXPECTED;
    return b;
  }

  /** A non-negative varint of at most 49 bits. */
  varint(): number {
    let b = this.byte();
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw UNEXPECTED;
  }

  /**
   * Reads a length and returns where the length-delimited value it prefixes ends. A length of
   * more than five bytes (padded: no message is that long) is malformed for strict-decode.ts,
   * which the fallback applies, so it is declined here too.
   */
  end(): number {
    const start = this.pos;
    const length = this.varint();
    if (this.pos - start > MAX_LENGTH_BYTES) throw UNEXPECTED;
    const end = this.pos + length;
    if (end > this.buf.length) throw UNEXPECTED;
    return end;
  }

  string(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    let text = "";
    // Short ASCII strings (ids, codes, SKUs) are built directly: a TextDecoder call costs more.
    for (let i = start; i < end; i++) {
      const c = this.buf[i] as number;
      if (c >= 0x80) return decodeUtf8(this.buf.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }

  /**
   * An int64 in [-2^49, 2^49): a varint of up to seven bytes, or the ten bytes every encoder
   * writes for a negative value (its 64-bit two's complement), which for that range are seven
   * bytes of the low 49 bits, 0xff, 0xff and 0x01. The value is then the low bits minus 2^49,
   * exact in a double. Other ten-byte forms (a last byte protobuf-es truncates to its low bit,
   * larger magnitudes) are declined.
   */
  int64(): bigint {
    let b = this.byte();
    if (b < 0x80) return BigInt(b);
    let value = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(value);
      scale *= 0x80;
    }
    if (this.byte() !== 0xff || this.byte() !== 0xff || this.byte() !== 0x01) throw UNEXPECTED;
    return BigInt(value - TWO_POW_49);
  }

  /** A non-negative int32 (enums, nanos): negative ones are ten-byte varints, declined. */
  int32(): number {
    const value = this.varint();
    if (value > 0x7fffffff) throw UNEXPECTED;
    return value;
  }

  /** A uint32; protobuf-es would truncate a longer value to 32 bits, so that is declined. */
  uint32(): number {
    const value = this.varint();
    if (value > 0xffffffff) throw UNEXPECTED;
    return value;
  }

  /** A bool: protobuf-es reads any non-zero varint as true. */
  bool(): boolean {
    return this.varint() !== 0;
  }
}

/** The same strict UTF-8 decoding protobuf-es applies to proto3 strings (see text-encoding.ts). */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return getTextEncoding().decodeUtf8(bytes, true);
  } catch {
    throw UNEXPECTED;
  }
}
