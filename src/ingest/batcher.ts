/** Collects concurrent submissions into batches handed to one `write` call each. */
export interface Batcher<T, R> {
  submit(item: T): Promise<R>;
  /** Resolves once every submitted item has been written or failed. */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for unary calls. Submissions made while `maxConcurrent` writes are in flight wait
 * in a queue and go out together in the next write (up to `maxBatch` items), so under load many
 * calls share one statement and one commit instead of paying a transaction each; when idle, a
 * call waits only for the current event-loop turn. `write` must return one result per item, in
 * order; if it throws, every item of that batch fails with the error.
 */
export function createBatcher<T, R>(options: {
  maxBatch: number;
  maxConcurrent: number;
  write: (items: T[]) => Promise<R[]>;
}): Batcher<T, R> {
  const queue: Pending<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idle: (() => void)[] = [];

  const pump = (): void => {
    scheduled = false;
    while (inFlight < options.maxConcurrent && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight++;
      // Promise.resolve().then: a write that throws synchronously still fails its batch.
      Promise.resolve()
        .then(() => options.write(batch.map((p) => p.item)))
        .then(
          (results) => {
            batch.forEach((p, i) => {
              p.resolve(results[i] as R);
            });
          },
          (err: unknown) => {
            for (const p of batch) p.reject(err);
          },
        )
        .finally(() => {
          inFlight--;
          if (queue.length > 0) pump();
          else if (inFlight === 0) {
            for (const wake of idle) wake();
            idle = [];
          }
        });
    }
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        // Defer to the end of this event-loop turn so calls that arrived together batch together.
        if (!scheduled && inFlight < options.maxConcurrent) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    drain() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
