import { toBinary } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";

/** What the calls of one method cost on the wire. */
export interface MethodTally {
  calls: number;
  /** Wall time of the calls, summed (calls in flight together overlap). */
  callMs: number;
  /** Wall time with at least one call in flight (only in "all"): the network's share of a run. */
  busyMs: number;
  /** Protobuf bytes of the messages (toBinary; each gRPC frame adds 5), when sizing is on. */
  requestBytes: number;
  responseBytes: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
}

/** A connect interceptor that counts a client's unary calls per method and, on demand, their sizes. */
export interface MessageMeter {
  readonly interceptor: Interceptor;
  /**
   * Encode every message to count its bytes. Off for timed runs: encoding a 1,000-key page
   * again costs about as much as decoding it did.
   */
  sizing: boolean;
  /** Forgets the calls so far. */
  reset(): void;
  /** Per method name ("Reconcile", "DigestKeys", "ListKeys"), and "all". */
  tallies(): Record<string, MethodTally>;
}

const empty = (): MethodTally => ({
  calls: 0,
  callMs: 0,
  busyMs: 0,
  requestBytes: 0,
  responseBytes: 0,
  maxRequestBytes: 0,
  maxResponseBytes: 0,
});

/** Creates a meter; give its `interceptor` to `createIngestClient({ interceptors })`. */
export function createMessageMeter(): MessageMeter {
  let byMethod = new Map<string, MethodTally>();
  let inFlight = 0;
  let busySince = 0;
  let busyMs = 0;
  const meter: MessageMeter = {
    sizing: false,
    interceptor: (next) => async (req) => {
      const began = performance.now();
      if (inFlight++ === 0) busySince = began;
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } finally {
        if (--inFlight === 0) busyMs += performance.now() - busySince;
      }
      const ms = performance.now() - began;
      const tally = byMethod.get(req.method.name) ?? empty();
      byMethod.set(req.method.name, tally);
      tally.calls++;
      tally.callMs += ms;
      if (meter.sizing && !req.stream && !res.stream) {
        const sent = toBinary(req.method.input, req.message).length;
        const received = toBinary(req.method.output, res.message).length;
        tally.requestBytes += sent;
        tally.responseBytes += received;
        tally.maxRequestBytes = Math.max(tally.maxRequestBytes, sent);
        tally.maxResponseBytes = Math.max(tally.maxResponseBytes, received);
      }
      return res;
    },
    reset() {
      byMethod = new Map();
      busyMs = 0;
    },
    tallies() {
      const all = empty();
      const out: Record<string, MethodTally> = {};
      for (const [name, t] of byMethod) {
        out[name] = { ...t };
        all.calls += t.calls;
        all.callMs += t.callMs;
        all.requestBytes += t.requestBytes;
        all.responseBytes += t.responseBytes;
        all.maxRequestBytes = Math.max(all.maxRequestBytes, t.maxRequestBytes);
        all.maxResponseBytes = Math.max(all.maxResponseBytes, t.maxResponseBytes);
      }
      all.busyMs = busyMs;
      out.all = all;
      return out;
    },
  };
  return meter;
}
