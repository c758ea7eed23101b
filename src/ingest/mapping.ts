import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  type IngestResponse,
  IngestResponseSchema,
  type IngestStreamResponse,
  IngestStreamResponseSchema,
  Outcome,
  RejectReason,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { ledger } from "../contract/ledger.js";
import type { SaleFingerprint } from "./canonical.js";
import type { IngestResult, StreamSummary } from "./model.js";
import type { SaleRow } from "./repository.js";

/** Maps a validated sale to the row the repository writes. */
export function toSaleRow(
  tenantId: string,
  idempotencyKey: string,
  id: string,
  fingerprint: SaleFingerprint,
  sale: Sale,
): SaleRow {
  const values = ledger(sale);
  return {
    tenantId,
    idempotencyKey,
    id,
    payloadHash: fingerprint.hash,
    source: sale.source,
    locationId: sale.locationId,
    registerId: sale.registerId,
    saleId: sale.saleId,
    // Validation guarantees occurredAt and totals are present.
    occurredAtMicros: timestampToMicros(sale.occurredAt as Timestamp),
    currency: sale.currency,
    // Signed as the ledger is: a post-void's total is stored negated.
    totalMinor: values.totalMinor.toString(),
    sale: fingerprint.bytes,
    ledger: values,
  };
}

/**
 * Microseconds since the epoch, Postgres' precision (nanoseconds are truncated). Exact as a
 * number for any time validation lets through (until the year 2255).
 */
export function timestampToMicros(ts: Timestamp): number {
  return Number(ts.seconds) * 1_000_000 + Math.floor(ts.nanos / 1000);
}

/** A Timestamp from microseconds since the epoch. */
export function timestampFromMicros(micros: bigint): Timestamp {
  return create(TimestampSchema, {
    seconds: micros / 1_000_000n,
    nanos: Number(micros % 1_000_000n) * 1000,
  });
}

/** The proto answer to a unary ingest. */
export function toIngestResponse(result: IngestResult): IngestResponse {
  return create(IngestResponseSchema, {
    recordId: result.recordId,
    outcome: result.outcome === "accepted" ? Outcome.ACCEPTED : Outcome.DUPLICATE,
    acceptedAt: timestampFromMicros(result.acceptedAtMicros),
    idempotencyKey: result.idempotencyKey,
  });
}

const REJECT_REASONS = {
  invalid_argument: RejectReason.INVALID_ARGUMENT,
  idempotency_conflict: RejectReason.IDEMPOTENCY_CONFLICT,
  malformed: RejectReason.MALFORMED,
  original_conflict: RejectReason.ORIGINAL_CONFLICT,
} as const;

/** The proto answer to a stream. */
export function toIngestStreamResponse(summary: StreamSummary): IngestStreamResponse {
  return create(IngestStreamResponseSchema, {
    received: BigInt(summary.received),
    accepted: BigInt(summary.accepted),
    duplicate: BigInt(summary.duplicate),
    rejected: BigInt(summary.rejected),
    rejections: summary.rejections.map((r) => ({
      offset: BigInt(r.offset),
      reason: REJECT_REASONS[r.reason],
      message: r.message,
      field: r.field,
    })),
    rejectionsOmitted: BigInt(summary.rejectionsOmitted),
    idempotencyKey: summary.idempotencyKey ?? "",
  });
}
