/**
 * The bytes of the `sale` field inside an encoded IngestRequest, when the request is exactly one
 * `sale` field (tag 1, length-delimited) and nothing else, as every encoder writes it. Anything
 * else (unknown fields, a repeated `sale` that decoders would merge) yields undefined and the sale
 * is re-encoded canonically instead.
 */
export function saleBytesOf(request: Uint8Array): Uint8Array | undefined {
  if (request[0] !== 0x0a) return undefined;
  let length = 0;
  let shift = 0;
  let i = 1;
  for (; i < request.length && i <= 5; i++) {
    const byte = request[i] as number;
    length += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) {
      i++;
      return i + length === request.length ? request.subarray(i) : undefined;
    }
  }
  return undefined;
}
