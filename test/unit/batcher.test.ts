import { describe, expect, it } from "vitest";
import { createBatcher } from "../../src/ingest/batcher.js";

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the batcher's deferred pump (setImmediate) and any settled promises run. */
async function turn(times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((r) => setImmediate(r));
}

interface WriteCall<T, R> {
  items: T[];
  done: Deferred<R[]>;
}

/**
 * A real async `write` whose calls complete only when the test says so, recording each batch and
 * the peak number of writes in flight.
 */
function controlledWriter<T, R>() {
  const calls: WriteCall<T, R>[] = [];
  let inFlight = 0;
  let peak = 0;
  const write = async (items: T[]): Promise<R[]> => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    const done = deferred<R[]>();
    calls.push({ items: [...items], done });
    try {
      return await done.promise;
    } finally {
      inFlight--;
    }
  };
  return {
    write,
    calls,
    get inFlight() {
      return inFlight;
    },
    get peak() {
      return peak;
    },
    /** Call number `i`, failing the test if it was never made. */
    call(i: number): WriteCall<T, R> {
      const c = calls[i];
      if (!c) throw new Error(`write call ${i} was not made (only ${calls.length})`);
      return c;
    },
  };
}

/** Tracks whether a promise has settled, without letting a rejection go unhandled. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe("createBatcher", () => {
  it("sends submissions made in one tick as one write", async () => {
    const w = controlledWriter<number, string>();
    const b = createBatcher({ maxBatch: 100, maxConcurrent: 4, write: w.write });
    const results = [1, 2, 3, 4, 5].map((n) => b.submit(n));
    await turn();
    expect(w.calls.map((c) => c.items)).toEqual([[1, 2, 3, 4, 5]]);
    w.call(0).done.resolve(["r1", "r2", "r3", "r4", "r5"]);
    await expect(Promise.all(results)).resolves.toEqual(["r1", "r2", "r3", "r4", "r5"]);
    expect(w.calls).toHaveLength(1);
  });

  it("with groupOf, writes each group apart, oldest first, in arrival order within a group", async () => {
    const w = controlledWriter<string, string>();
    const groups: string[] = [];
    const b = createBatcher({
      maxBatch: 2,
      maxConcurrent: 1,
      groupOf: (item: string) => item.slice(0, 1),
      write: (items: string[], group: string) => {
        groups.push(group);
        return w.write(items);
      },
    });
    const results = ["a1", "b1", "a2", "a3", "c1", "b2"].map((item) => b.submit(item));
    for (let i = 0; i < 4; i++) {
      await turn();
      w.call(i).done.resolve(w.call(i).items.map((item) => `r-${item}`));
      await turn();
    }
    // a3 waits for the next batch of a, which comes after b and c: the oldest waiting goes first.
    expect(w.calls.map((c) => c.items)).toEqual([["a1", "a2"], ["b1", "b2"], ["a3"], ["c1"]]);
    expect(groups).toEqual(["a", "b", "a", "c"]);
    await expect(Promise.all(results)).resolves.toEqual(
      ["a1", "b1", "a2", "a3", "c1", "b2"].map((item) => `r-${item}`),
    );
  });

  it("does not write before the current event-loop turn ends", async () => {
    const w = controlledWriter<number, number>();
    const b = createBatcher({ maxBatch: 10, maxConcurrent: 1, write: w.write });
    void b.submit(1);
    await Promise.resolve();
    expect(w.calls).toHaveLength(0);
    await turn();
    expect(w.calls).toHaveLength(1);
    w.call(0).done.resolve([1]);
    await b.drain();
  });

  it("writes submissions of separate turns separately when idle", async () => {
    const w = controlledWriter<string, string>();
    const b = createBatcher({ maxBatch: 10, maxConcurrent: 4, write: w.write });
    const a = b.submit("a");
    await turn();
    const c = b.submit("c");
    await turn();
    expect(w.calls.map((x) => x.items)).toEqual([["a"], ["c"]]);
    w.call(1).done.resolve(["C"]);
    w.call(0).done.resolve(["A"]);
    await expect(Promise.all([a, c])).resolves.toEqual(["A", "C"]);
  });

  it("never has more than maxConcurrent writes in flight", async () => {
    const w = controlledWriter<number, number>();
    const b = createBatcher({ maxBatch: 1, maxConcurrent: 2, write: w.write });
    const results = Array.from({ length: 7 }, (_, i) => b.submit(i));
    await turn();
    expect(w.calls).toHaveLength(2);
    expect(w.inFlight).toBe(2);

    // Finishing one write lets exactly one more start.
    w.call(0).done.resolve([0]);
    await turn();
    expect(w.calls).toHaveLength(3);
    expect(w.inFlight).toBe(2);

    for (let i = 1; i < 7; i++) {
      w.call(i).done.resolve([i]);
      await turn();
      expect(w.inFlight).toBeLessThanOrEqual(2);
    }
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(w.calls).toHaveLength(7);
    expect(w.peak).toBe(2);
  });

  it("keeps to maxConcurrent under submissions spread over many turns", async () => {
    let inFlight = 0;
    let peak = 0;
    let writes = 0;
    const b = createBatcher<number, number>({
      maxBatch: 3,
      maxConcurrent: 3,
      write: async (items) => {
        writes++;
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 1 + ((items[0] ?? 0) % 4)));
        inFlight--;
        return items.map((n) => n * 10);
      },
    });
    const results: Promise<number>[] = [];
    for (let n = 0; n < 60; n++) {
      results.push(b.submit(n));
      if (n % 4 === 0) await turn();
    }
    await expect(Promise.all(results)).resolves.toEqual(
      Array.from({ length: 60 }, (_, n) => n * 10),
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(writes).toBeLessThan(60);
  });

  it("puts at most maxBatch items in one write, in submission order", async () => {
    const w = controlledWriter<number, number>();
    const b = createBatcher({ maxBatch: 3, maxConcurrent: 1, write: w.write });
    const results = Array.from({ length: 10 }, (_, i) => b.submit(i));
    for (let i = 0; i < 4; i++) {
      await turn();
      const c = w.call(i);
      c.done.resolve(c.items.map((n) => n * 2));
    }
    await expect(Promise.all(results)).resolves.toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(w.calls.map((c) => c.items)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  });

  it("fills several concurrent writes of maxBatch each from one burst", async () => {
    const w = controlledWriter<number, number>();
    const b = createBatcher({ maxBatch: 2, maxConcurrent: 3, write: w.write });
    const results = Array.from({ length: 7 }, (_, i) => b.submit(i));
    await turn();
    expect(w.calls.map((c) => c.items)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    for (const c of [...w.calls].reverse()) c.done.resolve(c.items);
    await turn();
    expect(w.calls.map((c) => c.items)).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    w.call(3).done.resolve([6]);
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("gives each submitter the result at its position, even when writes finish out of order", async () => {
    const w = controlledWriter<{ id: string }, string>();
    const b = createBatcher({ maxBatch: 2, maxConcurrent: 2, write: w.write });
    const ids = ["a", "b", "c", "d"];
    const results = ids.map((id) => b.submit({ id }));
    await turn();
    expect(w.calls).toHaveLength(2);
    // The second batch finishes first.
    w.call(1).done.resolve(w.call(1).items.map((x) => `stored-${x.id}`));
    expect(await results[2]).toBe("stored-c");
    expect(await results[3]).toBe("stored-d");
    w.call(0).done.resolve(w.call(0).items.map((x) => `stored-${x.id}`));
    await expect(Promise.all(results)).resolves.toEqual([
      "stored-a",
      "stored-b",
      "stored-c",
      "stored-d",
    ]);
  });

  it("rejects exactly the items of a failed write, and keeps working", async () => {
    const w = controlledWriter<string, string>();
    const b = createBatcher({ maxBatch: 2, maxConcurrent: 1, write: w.write });
    const all = ["a", "b", "c", "d", "e"].map((x) => track(b.submit(x)));
    await turn();
    const boom = new Error("database unavailable");
    w.call(0).done.reject(boom);
    await turn();
    expect(all[0]).toMatchObject({ settled: true, error: boom });
    expect(all[1]).toMatchObject({ settled: true, error: boom });
    expect(all.slice(2).map((s) => s.settled)).toEqual([false, false, false]);

    // The next batch goes out and succeeds.
    expect(w.call(1).items).toEqual(["c", "d"]);
    w.call(1).done.resolve(["C", "D"]);
    await turn();
    expect(w.call(2).items).toEqual(["e"]);
    w.call(2).done.resolve(["E"]);
    await b.drain();
    expect(all.slice(2)).toEqual([
      { settled: true, value: "C" },
      { settled: true, value: "D" },
      { settled: true, value: "E" },
    ]);

    // A submission after the failure is written normally.
    const later = b.submit("f");
    await turn();
    w.call(3).done.resolve(["F"]);
    await expect(later).resolves.toBe("F");
  });

  it("fails only the batch whose write throws among concurrent writes", async () => {
    const b = createBatcher<number, number>({
      maxBatch: 2,
      maxConcurrent: 3,
      write: async (items) => {
        await new Promise((r) => setImmediate(r));
        if (items.includes(3)) throw new Error(`batch ${items.join(",")} failed`);
        return items.map((n) => n + 100);
      },
    });
    const settled = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((n) => b.submit(n)));
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : String(s.reason)))).toEqual([
      100,
      101,
      "Error: batch 2,3 failed",
      "Error: batch 2,3 failed",
      104,
      105,
    ]);
  });

  describe("drain", () => {
    it("resolves at once when nothing was submitted", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 10, maxConcurrent: 1, write: w.write });
      await expect(b.drain()).resolves.toBeUndefined();
      expect(w.calls).toHaveLength(0);
    });

    it("waits for the write in flight to finish", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 10, maxConcurrent: 1, write: w.write });
      const result = track(b.submit(1));
      await turn();
      const drained = track(b.drain());
      await turn(3);
      expect(drained.settled).toBe(false);
      w.call(0).done.resolve([10]);
      await turn();
      expect(drained.settled).toBe(true);
      expect(result).toEqual({ settled: true, value: 10 });
      expect(w.inFlight).toBe(0);
    });

    it("waits for submissions not yet written and for queued batches", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 1, maxConcurrent: 1, write: w.write });
      const results = [1, 2, 3].map((n) => track(b.submit(n)));
      // Called before the pump has run: the queue is full but nothing is in flight yet.
      const drained = track(b.drain());
      for (let i = 0; i < 3; i++) {
        await turn();
        expect(drained.settled).toBe(false);
        w.call(i).done.resolve([i + 1]);
      }
      await turn();
      expect(drained.settled).toBe(true);
      expect(results.every((r) => r.settled)).toBe(true);
    });

    it("waits for every concurrent write, not just the first to finish", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 1, maxConcurrent: 2, write: w.write });
      void b.submit(1);
      void b.submit(2);
      await turn();
      const drained = track(b.drain());
      w.call(0).done.resolve([1]);
      await turn();
      expect(drained.settled).toBe(false);
      w.call(1).done.resolve([2]);
      await turn();
      expect(drained.settled).toBe(true);
    });

    it("resolves after a failed write too", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 10, maxConcurrent: 1, write: w.write });
      const result = track(b.submit(1));
      await turn();
      const drained = track(b.drain());
      w.call(0).done.reject(new Error("nope"));
      await turn();
      expect(drained.settled).toBe(true);
      expect(result.error).toBeInstanceOf(Error);
    });

    it("wakes every caller of drain", async () => {
      const w = controlledWriter<number, number>();
      const b = createBatcher({ maxBatch: 10, maxConcurrent: 1, write: w.write });
      void b.submit(1);
      await turn();
      const first = track(b.drain());
      const second = track(b.drain());
      w.call(0).done.resolve([1]);
      await turn();
      expect([first.settled, second.settled]).toEqual([true, true]);
    });
  });
});
