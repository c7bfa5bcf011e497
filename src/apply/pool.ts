// Bounded concurrency: the one pool every layer uses (Docker operations in a phase, namespaces in
// a converge, the sweep).

/** Run fn over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
