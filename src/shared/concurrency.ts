/**
 * `run` over `items` with at most `limit` calls in flight, in order of the list. The first failure
 * stops the workers from starting more and rejects once the calls in flight have settled.
 * (The mirror's runPool, which settles every item and reports each, is for transfers.)
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  run: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await run(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejection = settled.find((result) => result.status === "rejected");
  if (rejection) throw rejection.reason;
}
