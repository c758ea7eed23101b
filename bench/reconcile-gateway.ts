import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ReconcileService } from "../gen/pos/ingest/v1/reconcile_pb.js";
import { saleKey, type ZReport } from "../src/client/index.js";
import { ZReportTally } from "../src/contract/z-report.js";
import type { MessageMeter } from "./message-meter.js";
import { BENCH_LOCATION, daySales } from "./reconcile-day.js";

/** What a gateway holds for a day it sent: its keys (in file order) and its Z report. */
export interface GatewayDay {
  readonly keys: string[];
  readonly figures: ZReport;
}

/** Reads a generated day as a gateway reads its file: one pass, keys kept, figures summed. */
export function gatewayDay(day: string, size: number, skip: ReadonlySet<number>): GatewayDay {
  const tally = new ZReportTally();
  const keys: string[] = [];
  for (const sale of daySales(day, size, skip)) {
    tally.add(sale);
    keys.push(saleKey(sale));
  }
  return { keys, figures: tally.report() };
}

/** What the naive comparison found and cost. */
export interface ListAllResult {
  readonly missing: string[];
  readonly extra: string[];
  readonly pages: number;
}

/** A ReconcileService client of its own for the baseline, through the same meter. */
export function rawReconcileClient(baseUrl: string, token: string, meter: MessageMeter) {
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return next(req);
      },
      meter.interceptor,
    ],
  });
  return { client: createClient(ReconcileService, transport), close: () => sessionManager.abort() };
}

/**
 * The naive way to find what differs, the baseline: every stored key of the day with ListKeys,
 * 1,000 a page, page after page, then a diff against the gateway's keys in memory. Messages and
 * gateway memory grow with the day.
 */
export async function listAllAndDiff(
  client: ReturnType<typeof rawReconcileClient>["client"],
  day: string,
  gatewayKeys: readonly string[],
): Promise<ListAllResult> {
  const scope = {
    locationId: BENCH_LOCATION,
    period: { case: "businessDay" as const, value: day },
  };
  const server = new Set<string>();
  let pageToken = "";
  let pages = 0;
  do {
    const page = await client.listKeys({ scope, pageSize: 1000, pageToken });
    pages++;
    for (const k of page.keys) server.add(k.idempotencyKey);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  const mine = new Set(gatewayKeys);
  const missing = gatewayKeys.filter((k) => !server.has(k)).sort();
  const extra = [...server].filter((k) => !mine.has(k)).sort();
  return { missing, extra, pages };
}
