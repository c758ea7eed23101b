/**
 * The one reader of base-128 varints for the hand-written protobuf scanners (strict-decode.ts,
 * request-bytes.ts): a varint of at most `maxBytes` bytes at `pos`, ending before `end`. Returns
 * its value (exact up to 2^53, which seven bytes stay within) and where the next field starts;
 * `truncated` when the bytes end first, `tooLong` when it runs past `maxBytes`.
 */
export function readVarint(
  buf: Uint8Array,
  pos: number,
  end: number,
  maxBytes: number,
): [value: number, next: number] | "truncated" | "tooLong" {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos + i >= end) return "truncated";
    const b = buf[pos + i] as number;
    value += (b & 0x7f) * scale;
    scale *= 0x80;
    if (b < 0x80) return [value, pos + i + 1];
  }
  return "tooLong";
}
