import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type ReconcileRequest,
  ReconcileResponseSchema,
  ReconcileService,
} from "../../gen/pos/ingest/v1/reconcile_pb.js";
import { createIngestClient, type ZReport } from "../../src/client/index.js";

const emptyReport = (): ZReport => ({
  counts: { sales: 0n, returns: 0n, exchanges: 0n, postVoids: 0n },
  currencies: [],
  tenders: [],
});

// client.reconcile against a ReconcileService in memory: what it sends, how it maps the answer,
// and that a transient failure is retried (a read is safe to repeat). test/e2e/reconcile.test.ts
// runs it against the real server.

function fakeServer(failures: number) {
  const seen: { requests: ReconcileRequest[]; authorization: (string | null)[] } = {
    requests: [],
    authorization: [],
  };
  const transport = createRouterTransport(({ service }) => {
    service(ReconcileService, {
      reconcile(req, ctx) {
        seen.requests.push(req);
        seen.authorization.push(ctx.requestHeader.get("authorization"));
        if (seen.requests.length <= failures) {
          throw new ConnectError("database unreachable", Code.Unavailable);
        }
        return create(ReconcileResponseSchema, {
          match: false,
          server: { counts: { sales: 1n }, currencies: [{ currency: "EUR", totalMinor: 250n }] },
          differences: [{ figure: "counts.sales", gateway: 0n, server: 1n }],
          snapshotAt: timestampFromDate(new Date("2026-12-01T00:00:00.123Z")),
        });
      },
    });
  });
  return { transport, seen };
}

describe("client.reconcile on an in-memory transport", () => {
  it("sends the scope and figures with the API key and maps the typed answer", async () => {
    const { transport, seen } = fakeServer(0);
    const client = createIngestClient({ transport, apiKey: "pik_test" });
    const answer = await client.reconcile({
      locationId: "store-7",
      registerId: "till-2",
      businessDay: "2026-11-30",
      figures: emptyReport(),
    });
    expect(seen.authorization).toEqual(["Bearer pik_test"]);
    expect(seen.requests[0]?.scope).toMatchObject({
      locationId: "store-7",
      registerId: "till-2",
      period: { case: "businessDay", value: "2026-11-30" },
    });
    expect(answer).toMatchObject({
      match: false,
      differences: [{ figure: "counts.sales", currency: "", gateway: 0n, server: 1n }],
      snapshotAt: new Date("2026-12-01T00:00:00.123Z"),
      rowsWithoutLedger: 0n,
      attempts: 1,
    });
    expect(answer.server.counts).toEqual({ sales: 1n, returns: 0n, exchanges: 0n, postVoids: 0n });
    expect(answer.server.currencies[0]).toMatchObject({ currency: "EUR", totalMinor: 250n });
    client.close();
  });

  it("retries UNAVAILABLE and refuses a scope with both or neither period before any call", async () => {
    const { transport, seen } = fakeServer(1);
    const client = createIngestClient({
      transport,
      apiKey: "pik_test",
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    const range = { from: new Date("2026-11-30T00:00:00Z"), to: new Date("2026-12-01T00:00:00Z") };
    const answer = await client.reconcile({
      locationId: "s",
      occurred: range,
      figures: emptyReport(),
    });
    expect(answer.attempts).toBe(2);
    expect(seen.requests[1]?.scope?.period.case).toBe("occurred");
    const both = {
      locationId: "s",
      businessDay: "2026-11-30",
      occurred: range,
      figures: emptyReport(),
    };
    await expect(client.reconcile(both)).rejects.toThrow(/exactly one/);
    await expect(client.reconcile({ locationId: "s", figures: emptyReport() })).rejects.toThrow(
      /exactly one/,
    );
    expect(seen.requests).toHaveLength(2);
    client.close();
  });
});
