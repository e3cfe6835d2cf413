// Ordered concurrency, for the page (weight shards) and the CLI (files scored by the pool): no Node
// or DOM APIs here.

/**
 * Yields fn(item) for every item, in the items' order, with calls started ahead of the one awaited:
 * asking for result i starts every call up to item i + ahead - 1, so at most `ahead` calls run at once,
 * and while the caller handles result i at most `ahead - 1` later calls run (ahead 1: one at a time,
 * nothing runs between two results). A call that rejects ends the generator with its error when its
 * turn comes (earlier results are yielded first); later calls are not started, and the rejections of
 * calls already running are left unreported.
 */
export async function* inOrder<T, R>(
  items: readonly T[],
  ahead: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R, void, undefined> {
  const limit = Math.max(1, Math.floor(ahead));
  const running: Promise<R>[] = [];
  let next = 0;
  for (let i = 0; i < items.length; i++) {
    while (next < items.length && next < i + limit) {
      let p: Promise<R>;
      try {
        p = fn(items[next++]);
      } catch (e) {
        p = Promise.reject(e); // a synchronous throw too waits for its turn
      }
      p.catch(() => undefined); // awaited in its turn; not an unhandled rejection meanwhile
      running.push(p);
    }
    yield await running.shift()!;
  }
}

/** The next result of `results`, for a caller that takes exactly one per item; throws when there is none. */
export async function nextResult<R>(results: AsyncIterator<R, void>): Promise<R> {
  const r = await results.next();
  if (r.done) throw new Error('inOrder: no result left');
  return r.value;
}
