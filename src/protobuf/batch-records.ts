import { readVarint } from "./varint.js";

/**
 * The encoded records of an IngestBatchStreamRequest (`repeated IngestRequest records = 1`), each
 * as a view of `bytes`, in order, without decoding them: the caller decodes each record on its
 * own, so a record that does not decode costs only itself (rejected at its offset) and the rest
 * of the message is still stored. Fields other than `records` (a later version's) are skipped.
 * Undefined when the list itself cannot be read: a truncated or over-long length, a `records`
 * entry that is not length-delimited, a group or an unknown wire type (strict-decode.ts refuses
 * the same in any message). No record count is then known, so no offset could be trusted.
 */
export function batchRecords(bytes: Uint8Array): Uint8Array[] | undefined {
  const records: Uint8Array[] = [];
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    const tag = readVarint(bytes, pos, end, 5);
    if (typeof tag === "string") return undefined;
    pos = tag[1];
    const field = Math.floor(tag[0] / 8);
    const wireType = tag[0] & 7;
    if (field === 0) return undefined;
    if (wireType === 2) {
      const length = readVarint(bytes, pos, end, 5);
      if (typeof length === "string") return undefined;
      const next = length[1] + length[0];
      if (next > end) return undefined;
      if (field === 1) records.push(bytes.subarray(length[1], next));
      pos = next;
    } else if (field === 1) {
      return undefined;
    } else if (wireType === 0) {
      const value = readVarint(bytes, pos, end, 10);
      if (typeof value === "string") return undefined;
      pos = value[1];
    } else if (wireType === 1 || wireType === 5) {
      pos += wireType === 1 ? 8 : 4;
      if (pos > end) return undefined;
    } else return undefined;
  }
  return records;
}
