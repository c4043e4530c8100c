/**
 * Bounded concurrency with a named knob (rclone's --checkers / --transfers): at most `limit` tasks run
 * at once, items are pulled lazily from the iterable, so an 8,000-item list never becomes 8,000 promises.
 * A task's rejection does not stop the others; each settles into the results array in input order.
 */
export interface PoolOptions {
  /** For messages: "checkers", "transfers". */
  name: string;
  limit: number;
  signal?: AbortSignal;
}

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function runPool<T, R>(
  items: Iterable<T>,
  options: PoolOptions,
  task: (item: T, index: number) => Promise<R>,
): Promise<Settled<R>[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new RangeError(`${options.name} concurrency must be a positive integer, got ${options.limit}`);
  }
  const iterator = items[Symbol.iterator]();
  const results: Settled<R>[] = [];
  let index = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (options.signal?.aborted) return;
      const next = iterator.next();
      if (next.done) return;
      const position = index++;
      try {
        results[position] = { ok: true, value: await task(next.value, position) };
      } catch (error) {
        results[position] = { ok: false, error };
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < options.limit; i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}
