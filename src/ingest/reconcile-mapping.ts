import { create } from "@bufbuild/protobuf";
import {
  type ReconcileResponse,
  ReconcileResponseSchema,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { timestampFromMicros } from "./mapping.js";
import type { ReconcileResult } from "./reconcile-model.js";

/** The wire answer of a reconciliation. */
export function toReconcileResponse(result: ReconcileResult): ReconcileResponse {
  return create(ReconcileResponseSchema, {
    match: result.match,
    server: {
      counts: { ...result.report.counts },
      currencies: result.report.currencies.map((c) => ({ ...c })),
    },
    differences: result.differences.map((d) => ({ ...d })),
    snapshotAt: timestampFromMicros(result.snapshotAtMicros),
    rowsWithoutLedger: result.rowsWithoutLedger,
  });
}
