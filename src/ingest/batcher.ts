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
 *
 * With `groupOf`, a batch holds items of one group (the service groups by tenant, so every
 * statement names one tenant and a distributed database routes it to one shard): the oldest
 * waiting item's group, with every other waiting item of that group, in arrival order. No group
 * starves: the next batch starts from whatever is then oldest.
 */
export function createBatcher<T, R>(options: {
  maxBatch: number;
  maxConcurrent: number;
  groupOf?: (item: T) => string;
  write: (items: T[], group: string) => Promise<R[]>;
}): Batcher<T, R> {
  let queue: Pending<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idle: (() => void)[] = [];

  // The oldest item's group and the rest of that group, in order; one pass over the queue.
  const groupOf = options.groupOf ?? (() => "");
  const takeBatch = (): { group: string; batch: Pending<T, R>[] } => {
    const group = groupOf((queue[0] as Pending<T, R>).item);
    if (options.groupOf === undefined) return { group, batch: queue.splice(0, options.maxBatch) };
    const batch: Pending<T, R>[] = [];
    const rest: Pending<T, R>[] = [];
    for (const pending of queue) {
      if (batch.length < options.maxBatch && groupOf(pending.item) === group) {
        batch.push(pending);
      } else rest.push(pending);
    }
    queue = rest;
    return { group, batch };
  };

  const pump = (): void => {
    scheduled = false;
    while (inFlight < options.maxConcurrent && queue.length > 0) {
      const { group, batch } = takeBatch();
      inFlight++;
      // Promise.resolve().then: a write that throws synchronously still fails its batch.
      Promise.resolve()
        .then(() =>
          options.write(
            batch.map((p) => p.item),
            group,
          ),
        )
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
