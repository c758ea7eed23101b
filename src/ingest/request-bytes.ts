import { readVarint as readAnyVarint } from "../protobuf/varint.js";

/**
 * The bytes of the `sale` field inside an encoded IngestRequest, when the request holds exactly
 * one `sale` field (tag 1, length-delimited), as every encoder writes it. Other fields (the
 * record's idempotency key, fields this server does not know) may come before or after it: they
 * are not part of the sale. A repeated `sale`, which decoders would merge, or bytes that do not
 * parse yield undefined, and the sale is then re-encoded canonically instead.
 */
export function saleBytesOf(request: Uint8Array): Uint8Array | undefined {
  let sale: Uint8Array | undefined;
  let i = 0;
  while (i < request.length) {
    const tag = readVarint(request, i);
    if (!tag) return undefined;
    i = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let end: number;
    if (wireType === 0) {
      const value = readVarint(request, i);
      if (!value) return undefined;
      end = value.next;
    } else if (wireType === 1) end = i + 8;
    else if (wireType === 5) end = i + 4;
    else if (wireType === 2) {
      const length = readVarint(request, i);
      if (!length) return undefined;
      i = length.next;
      end = i + length.value;
      if (field === 1) {
        if (sale || end > request.length) return undefined;
        sale = request.subarray(i, end);
      }
    } else return undefined; // groups: never written by a current encoder
    if (end > request.length) return undefined;
    i = end;
  }
  return sale;
}

/** A varint at `at` of up to five bytes, 2^35 (lengths and tags; larger is not a valid request). */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  const read = readAnyVarint(bytes, at, bytes.length, 5);
  return typeof read === "string" ? undefined : { value: read[0], next: read[1] };
}
