import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { zReportDay } from "../contract/z-report.js";

/** What `pos-ingest reconcile` compares: one location, optionally one register, one period. */
export interface ReconcileScope {
  readonly locationId: string;
  readonly registerId?: string | undefined;
  /** "YYYY-MM-DD", by `zReportDay` (the server's rule). */
  readonly businessDay?: string | undefined;
  /** `from <= occurred_at < to`, instead of a business day. */
  readonly occurred?: { readonly from: Date; readonly to: Date } | undefined;
}

/** Why a sale of the file is not in the scope (counted, so the user sees what was left out). */
export type OutOfScope = "location" | "register" | "period";

/**
 * Why `sale` is outside `scope`, or undefined when it is in it; by the same rules the server
 * selects its rows with, so both sides compare the same transactions.
 */
export function outOfScope(sale: Sale, scope: ReconcileScope): OutOfScope | undefined {
  if (sale.locationId !== scope.locationId) return "location";
  if (scope.registerId !== undefined && sale.registerId !== scope.registerId) return "register";
  if (scope.businessDay !== undefined) {
    return zReportDay(sale) === scope.businessDay ? undefined : "period";
  }
  if (scope.occurred) {
    // In nanoseconds: a sale at a range's edge must fall on the same side as on the server.
    const at = sale.occurredAt;
    if (!at) return "period";
    const ns = at.seconds * 1_000_000_000n + BigInt(at.nanos);
    const from = BigInt(scope.occurred.from.getTime()) * 1_000_000n;
    const to = BigInt(scope.occurred.to.getTime()) * 1_000_000n;
    return ns >= from && ns < to ? undefined : "period";
  }
  return undefined;
}
