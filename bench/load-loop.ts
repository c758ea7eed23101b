import { randomUUID } from "node:crypto";
import type { DescMethod } from "@bufbuild/protobuf";
import type { Client, Metadata } from "@grpc/grpc-js";
import { type CallResult, clientStreamCall, unaryCall } from "./grpc-calls.js";
import { ReportBuilder } from "./report.js";
import { countOutcomes } from "./request-bodies.js";
import type { CallData } from "./template.js";

/** Everything a load run needs, prepared before the clock starts. */
export interface LoadPlan {
  readonly method: DescMethod;
  /** Channels; worker `w` uses channel `w % clients.length`. */
  readonly clients: readonly Client[];
  /** Calls to make; ignored when `durationMs` is set. */
  readonly total: number;
  /** Keep starting calls for this long (0: run `total` calls). Calls in flight are awaited. */
  readonly durationMs: number;
  readonly concurrency: number;
  /** Calls started per second over all workers; 0: as fast as the workers go. */
  readonly rps: number;
  /** Messages per client-streaming call. */
  readonly streamCallCount: number;
  /** Per-call deadline; 0: none. */
  readonly timeoutMs: number;
  readonly bodies: readonly Buffer[];
  readonly metadata: (call: CallData) => Metadata;
}

/** What a run measured. */
export interface LoadResult {
  readonly builder: ReportBuilder;
  readonly totalMs: number;
  readonly endReason: "normal" | "timeout";
}

/**
 * Runs `concurrency` workers that take call numbers from one shared counter (as ghz's workers
 * do), so every call number is used once and `mod .RequestNumber N` spreads keys evenly. With
 * `rps`, call k does not start before `k / rps` seconds into the run.
 */
export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const builder = new ReportBuilder();
  const path = `/${plan.method.parent.typeName}/${plan.method.name}`;
  const streaming = plan.method.methodKind === "client_streaming";
  const total = plan.durationMs > 0 ? Number.POSITIVE_INFINITY : plan.total;
  let next = 0;
  let timedOut = false;
  const started = performance.now();
  const timer =
    plan.durationMs > 0
      ? setTimeout(() => {
          timedOut = true;
        }, plan.durationMs)
      : undefined;

  const call = (client: Client, body: Buffer, metadata: Metadata): Promise<CallResult> =>
    streaming
      ? clientStreamCall(client, path, body, plan.streamCallCount, metadata, plan.timeoutMs)
      : unaryCall(client, path, body, metadata, plan.timeoutMs);

  const worker = async (w: number): Promise<void> => {
    const client = plan.clients[w % plan.clients.length] as Client;
    const workerId = String(w);
    for (;;) {
      if (timedOut || next >= total) return;
      const requestNumber = next++;
      if (plan.rps > 0) {
        const due = started + (requestNumber / plan.rps) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        if (timedOut) return;
      }
      const data: CallData = { requestNumber, workerId, uuid: randomUUID() };
      const body = plan.bodies[requestNumber % plan.bodies.length] as Buffer;
      const metadata = plan.metadata(data);
      const t0 = performance.now();
      const result = await call(client, body, metadata);
      builder.record(performance.now() - t0, result.code, result.details);
      if (result.response) countOutcomes(plan.method, result.response, builder.outcomes);
    }
  };

  const workers = Math.max(1, Math.min(plan.concurrency, total));
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  clearTimeout(timer);
  return {
    builder,
    totalMs: performance.now() - started,
    endReason: timedOut ? "timeout" : "normal",
  };
}
