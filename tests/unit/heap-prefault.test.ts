import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HeapPrefault, type PagerJob, type SharedHeap, chunkBytesFor, mapChunks } from '../../src/model/heap-prefault';

const CHUNK_BYTES = 1 << 20;
const opts = { chunkBytes: CHUNK_BYTES };

// The reserve is handed to the allocator chunk by chunk, each only once its pager is done with it:
// a chunk the pager wrote to after it was freed would corrupt the weights put there. The heap here
// is a SharedArrayBuffer with a bump allocator whose free() fills the chunk with a marker, as the
// weights would; the pager runs on a real thread in one test.

const MARK = 0xab;

function fakeHeap(chunks: number, failAfter = Infinity) {
  const buffer = new SharedArrayBuffer((chunks + 1) * CHUNK_BYTES);
  const bytes = new Uint8Array(buffer);
  let top = CHUNK_BYTES; // 0 is the allocator's "no memory"
  let calls = 0;
  const freed: number[] = [];
  const heap: SharedHeap = {
    bytes: () => bytes,
    malloc: (n) => {
      if (++calls > failAfter || top + n > buffer.byteLength) return 0;
      top += n;
      return top - n;
    },
    free: (p) => {
      freed.push(p);
      bytes.fill(MARK, p, p + CHUNK_BYTES);
    },
  };
  return { heap, bytes, freed };
}

/** Runs mapChunks on a worker thread, through tsx's loader as the CLI's pool does; resolves to the bytes it mapped. */
function threadPager(job: PagerJob): Promise<number> {
  const url = new URL('../../src/model/heap-prefault.ts', import.meta.url).href;
  const boot = `const { workerData, parentPort } = require('node:worker_threads');
import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((t) => { t.register(); return import(${JSON.stringify(url)}); })
  .then((m) => parentPort.postMessage(m.mapChunks(workerData)));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(boot, { eval: true, workerData: job });
    w.once('message', (n: number) => {
      resolve(n);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('HeapPrefault', () => {
  it('without a pager, maps what the load asks for itself and hands back the rest unmapped, in order', () => {
    const { heap, freed } = fakeHeap(6);
    const p = HeapPrefault.start(heap, 5.5 * CHUNK_BYTES, () => {}, opts)!;
    expect(p.reservedBytes).toBe(6 * CHUNK_BYTES);
    p.release(2 * CHUNK_BYTES);
    expect(freed).toEqual([1, 2].map((i) => i * CHUNK_BYTES));
    p.release(2 * CHUNK_BYTES); // nothing more is needed yet
    expect(freed).toHaveLength(2);
    expect(p.finish()).toEqual({ pagerBytes: 0, ownBytes: 2 * CHUNK_BYTES });
    expect(freed).toEqual([1, 2, 3, 4, 5, 6].map((i) => i * CHUNK_BYTES));
  });

  it('counts what a pager mapped ahead, and leaves nothing for the load to map', () => {
    const { heap, freed } = fakeHeap(4);
    let job: PagerJob | null = null;
    const p = HeapPrefault.start(heap, 4 * CHUNK_BYTES, (j) => (job = j), opts)!;
    expect(mapChunks(job!)).toBe(4 * CHUNK_BYTES);
    expect(mapChunks(job!)).toBe(0); // each chunk is mapped once
    p.release(3 * CHUNK_BYTES);
    expect(p.finish()).toEqual({ pagerBytes: 4 * CHUNK_BYTES, ownBytes: 0 });
    expect(freed).toHaveLength(4);
  });

  it('with a pager on another thread, no chunk is written to after it was handed back', async () => {
    const n = 24;
    const { heap, bytes, freed } = fakeHeap(n);
    let pager: Promise<number> = Promise.resolve(0);
    let job: PagerJob | null = null;
    const p = HeapPrefault.start(
      heap,
      n * CHUNK_BYTES,
      (j) => {
        job = j;
        pager = threadPager(j);
      },
      opts,
    )!;
    // once the pager is under way, the load asks for a chunk at a time, racing it from the front
    await expect.poll(() => Atomics.load(job!.state, 0), { timeout: 30_000, interval: 1 }).not.toBe(0);
    for (let i = 1; i <= n; i++) p.release(i * CHUNK_BYTES);
    const stats = p.finish();
    const byPager = await pager;
    expect(freed).toEqual(Array.from({ length: n }, (_, i) => (i + 1) * CHUNK_BYTES));
    expect(stats.pagerBytes + stats.ownBytes).toBe(n * CHUNK_BYTES);
    expect(stats.pagerBytes).toBe(byPager);
    expect(byPager).toBeGreaterThan(0);
    // every freed chunk still holds the marker free() wrote: the pager's writes all came before
    for (const at of freed) expect(bytes.subarray(at, at + CHUNK_BYTES).every((b) => b === MARK)).toBe(true);
  });

  it('a chunk a dead pager still holds is never handed back; the wait for it is bounded', () => {
    const { heap, freed } = fakeHeap(3);
    const p = HeapPrefault.start(heap, 3 * CHUNK_BYTES, (job) => Atomics.store(job.state, 1, 1), {
      ...opts,
      stuckMs: 100,
    })!;
    const t = performance.now();
    expect(p.finish()).toEqual({ pagerBytes: 0, ownBytes: 0 });
    expect(performance.now() - t).toBeGreaterThanOrEqual(95);
    expect(freed).toEqual([1, 3].map((i) => i * CHUNK_BYTES));
  });

  it('chunks are a power of two near a 256th of the reserve, from 64 KiB to 4 MiB', () => {
    expect(chunkBytesFor(2.6e6)).toBe(64 << 10);
    expect(chunkBytesFor(300e6)).toBe(2 << 20);
    expect(chunkBytesFor(1.35e9)).toBe(4 << 20);
    expect(chunkBytesFor(0)).toBe(64 << 10);
  });

  it('a heap that cannot grow that far gives no reserve and keeps nothing', () => {
    const { heap, freed } = fakeHeap(8, 2);
    expect(HeapPrefault.start(heap, 6 * CHUNK_BYTES, () => {}, opts)).toBeNull();
    expect(freed).toEqual([1, 2].map((i) => i * CHUNK_BYTES));
  });
});
