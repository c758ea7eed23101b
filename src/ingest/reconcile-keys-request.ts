import type { DigestKeysRequest, ListKeysRequest } from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { type KeyRange, MAX_DIGEST_RANGES, MAX_KEY_PAGE } from "../contract/key-digest.js";
import { Violations } from "../contract/violations.js";
import { IDEMPOTENCY_KEY_RULE, isValidIdempotencyKey } from "../contract/wire.js";
import { ValidationError } from "../errors.js";
import type { ReconcileScope } from "./reconcile-model.js";
import { micros, scopeOf } from "./reconcile-request.js";

/** A DigestKeys request as the service takes it. */
export interface ParsedDigestKeys {
  readonly scope: ReconcileScope;
  /** Microseconds since the epoch; undefined: the database's now. */
  readonly asOfMicros: bigint | undefined;
  /** Sorted by `from`, disjoint; only the last may be open-ended. */
  readonly ranges: readonly KeyRange[];
}

/** A ListKeys request as the service takes it. */
export interface ParsedListKeys {
  readonly scope: ReconcileScope;
  readonly asOfMicros: bigint | undefined;
  readonly range: KeyRange;
  readonly pageSize: number;
  /** The last key of the previous page; "" for the first. */
  readonly after: string;
}

/**
 * Validates a DigestKeys request. The ranges must come sorted and disjoint: the server then finds
 * each row's range by binary search in one pass, and a gateway bisecting its keys has them so.
 *
 * @throws ValidationError naming every offending field.
 */
export function parseDigestKeysRequest(request: DigestKeysRequest): ParsedDigestKeys {
  const v = new Violations();
  const scope = scopeOf(request.scope, v);
  const asOfMicros = asOf(v, request.asOf);
  const { ranges } = request;
  if (ranges.length === 0) v.add("ranges", "must hold at least one range");
  else if (ranges.length > MAX_DIGEST_RANGES) {
    v.add("ranges", `must hold at most ${MAX_DIGEST_RANGES} ranges`);
  } else {
    ranges.forEach((r, i) => {
      const field = `ranges[${i}]`;
      if (!bound(v, `${field}.from`, r.from) || !bound(v, `${field}.to`, r.to)) return;
      if (r.to !== "" && r.from >= r.to) v.add(`${field}.to`, "must be after from (or empty)");
      const previous = ranges[i - 1];
      if (previous && (previous.to === "" || r.from < previous.to)) {
        v.add(`${field}.from`, `must not be before ranges[${i - 1}].to: sort the ranges, disjoint`);
      }
    });
  }
  if (v.count > 0 || !scope) throw new ValidationError(v.list);
  return { scope, asOfMicros, ranges: ranges.map((r) => ({ from: r.from, to: r.to })) };
}

/**
 * Validates a ListKeys request; an unset range is every key of the scope.
 *
 * @throws ValidationError naming every offending field.
 */
export function parseListKeysRequest(request: ListKeysRequest): ParsedListKeys {
  const v = new Violations();
  const scope = scopeOf(request.scope, v);
  const asOfMicros = asOf(v, request.asOf);
  const range = request.range ?? { from: "", to: "" };
  if (bound(v, "range.from", range.from) && bound(v, "range.to", range.to)) {
    if (range.to !== "" && range.from >= range.to)
      v.add("range.to", "must be after from (or empty)");
  }
  if (request.pageSize > MAX_KEY_PAGE) v.add("page_size", `must be at most ${MAX_KEY_PAGE}`);
  bound(v, "page_token", request.pageToken);
  if (v.count > 0 || !scope) throw new ValidationError(v.list);
  return {
    scope,
    asOfMicros,
    range: { from: range.from, to: range.to },
    pageSize: request.pageSize === 0 ? MAX_KEY_PAGE : request.pageSize,
    after: request.pageToken,
  };
}

/** A range bound or page token: empty, or what a key may be (so it compares as keys do). */
function bound(v: Violations, field: string, value: string): boolean {
  if (value === "" || isValidIdempotencyKey(value)) return true;
  v.add(field, `must be empty or a key: ${IDEMPOTENCY_KEY_RULE}`);
  return false;
}

function asOf(v: Violations, ts: DigestKeysRequest["asOf"]): bigint | undefined {
  return ts === undefined ? undefined : micros(v, "as_of", ts);
}
