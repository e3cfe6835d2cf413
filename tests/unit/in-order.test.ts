import { describe, expect, it } from 'vitest';
import { inOrder, nextResult } from '../../src/util/in-order';

// Ordered concurrency (the page's shard downloads, the CLI's pool): results in input order, at most
// `ahead` calls at once, and a failure reported in its turn.

/** fn(i) that finishes when the test says so, recording which calls started and how many ran at once. */
function controlled() {
  const started: number[] = [];
  const finish = new Map<number, { ok: (v: string) => void; fail: (e: Error) => void }>();
  let running = 0;
  let most = 0;
  const fn = (i: number) =>
    new Promise<string>((ok, fail) => {
      started.push(i);
      most = Math.max(most, ++running);
      finish.set(i, { ok, fail });
    }).finally(() => running--);
  return { fn, started, finish, most: () => most };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('inOrder', () => {
  it('yields results in input order whatever order the calls finish in', async () => {
    const delays = [30, 5, 20, 0, 10, 1];
    const fn = (i: number) => new Promise<number>((r) => setTimeout(() => r(i * 10), delays[i]));
    const out: number[] = [];
    for await (const r of inOrder([0, 1, 2, 3, 4, 5], 3, fn)) out.push(r);
    expect(out).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('runs at most `ahead` calls at once, and ahead - 1 while the caller holds a result', async () => {
    const c = controlled();
    const results = inOrder([0, 1, 2, 3, 4], 3, c.fn);
    const first = results.next();
    await tick();
    expect(c.started).toEqual([0, 1, 2]);
    c.finish.get(1)!.ok('b'); // finished out of turn: held until 0 is taken
    c.finish.get(0)!.ok('a');
    expect((await first).value).toBe('a');
    await tick();
    expect(c.started).toEqual([0, 1, 2]); // nothing new starts until the next result is asked for
    const second = results.next();
    await tick();
    expect(c.started).toEqual([0, 1, 2, 3]);
    expect((await second).value).toBe('b');
    const third = results.next();
    await tick();
    expect(c.started).toEqual([0, 1, 2, 3, 4]);
    c.finish.get(2)!.ok('c');
    c.finish.get(3)!.ok('d');
    c.finish.get(4)!.ok('e');
    expect((await third).value).toBe('c');
    expect(await nextResult(results)).toBe('d');
    expect(await nextResult(results)).toBe('e');
    expect((await results.next()).done).toBe(true);
    expect(c.most()).toBe(3);
  });

  it('ahead 1 runs one call at a time, none between two results', async () => {
    let running = 0;
    let most = 0;
    const fn = async (i: number) => {
      most = Math.max(most, ++running);
      await tick();
      running--;
      return i;
    };
    const out: number[] = [];
    for await (const r of inOrder([0, 1, 2, 3], 1, fn)) {
      expect(running).toBe(0);
      out.push(r);
    }
    expect(out).toEqual([0, 1, 2, 3]);
    expect(most).toBe(1);
  });

  it('reports a failure in its turn, after the earlier results, and starts nothing after it', async () => {
    const started: number[] = [];
    const fn = async (i: number) => {
      started.push(i);
      await tick();
      if (i === 2 || i === 3) throw new Error(`item ${i} failed`);
      return i;
    };
    const out: number[] = [];
    const run = async () => {
      for await (const r of inOrder([0, 1, 2, 3, 4, 5, 6], 2, fn)) out.push(r);
    };
    // item 3 also fails, while item 2 is awaited: its rejection is not reported as unhandled
    await expect(run()).rejects.toThrow('item 2 failed');
    expect(out).toEqual([0, 1]);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('a synchronous throw waits for its turn too', async () => {
    const fn = (i: number) => {
      if (i === 1) throw new Error('sync');
      return Promise.resolve(i);
    };
    const results = inOrder([0, 1, 2], 3, fn);
    expect(await nextResult(results)).toBe(0);
    await expect(nextResult(results)).rejects.toThrow('sync');
  });

  it('handles no items, and nextResult refuses to read past the end', async () => {
    const results = inOrder([], 4, async () => 1);
    await expect(nextResult(results)).rejects.toThrow(/no result left/);
  });
});
