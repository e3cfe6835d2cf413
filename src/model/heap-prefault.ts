// Where fresh memory is slow to fault in (virtual machines that back each new page on first touch),
// most of a large load's time on tfjs-wasm is the kernel mapping the pages of XNNPACK's packed copy
// as packing writes it, one page at a time, on the inference thread. With threads, wasm's heap is
// a SharedArrayBuffer: the load reserves the heap it will need as chunks (malloc'd, so nothing else
// uses them), a pager on another thread writes one byte per page of each chunk in order, and the
// load hands each chunk back to the allocator once it is mapped, just before the allocations that
// need it. Mapping then runs beside the copying and packing instead of inside them. A chunk is
// freed only after its pager has finished with it (its state says so), so the pager never writes
// memory the allocator has handed out; a pager that falls behind, never starts or dies leaves its
// chunks to the load, which maps them itself as it would have anyway.

/**
 * Bytes per chunk for a reserve of `bytes`: a power of two near a 256th of it, from 64 KiB to 4 MiB,
 * so the load waits on at most a few milliseconds of mapping and small weights still make many chunks.
 */
export function chunkBytesFor(bytes: number): number {
  const target = Math.max(1, bytes / 256);
  return Math.min(4 << 20, Math.max(64 << 10, 2 ** Math.ceil(Math.log2(target))));
}

/** Pages are mapped one write per page; 4 KiB is the smallest page of any platform the app runs on. */
const PAGE = 4096;

/** Chunk states (PagerJob.state). */
const FREE = 0;
const CLAIMED = 1;
const MAPPED = 2;
const TAKEN = 3;

/** What a pager thread gets: the shared heap, the chunks and their states. */
export interface PagerJob {
  heap: SharedArrayBuffer;
  /** Chunk i starts at starts[i] and is chunkBytes long. */
  starts: Uint32Array;
  chunkBytes: number;
  /** Per chunk, over a SharedArrayBuffer: 0 free to claim, 1 being mapped, 2 mapped, 3 taken back unmapped. */
  state: Int32Array;
}

/** The allocator and memory of a wasm module whose heap is shared (tfjs-internals' wasmSharedHeap). */
export interface SharedHeap {
  /** The heap as it is now (a new view after each growth). */
  bytes(): Uint8Array;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** Writes one byte in each page of chunk `i` if nobody has claimed it; returns the bytes mapped. */
function mapChunk(heap: Uint8Array, job: PagerJob, i: number): number {
  if (Atomics.compareExchange(job.state, i, FREE, CLAIMED) !== FREE) return 0;
  const start = job.starts[i];
  for (let a = start; a < start + job.chunkBytes; a += PAGE) heap[a] = 0;
  Atomics.store(job.state, i, MAPPED);
  Atomics.notify(job.state, i);
  return job.chunkBytes;
}

/** The pager: maps every chunk nobody has claimed, in order; returns the bytes it mapped. */
export function mapChunks(job: PagerJob): number {
  const heap = new Uint8Array(job.heap);
  let mapped = 0;
  for (let i = 0; i < job.starts.length; i++) mapped += mapChunk(heap, job, i);
  return mapped;
}

/** Waits until chunk `i` leaves the CLAIMED state or `ms` pass; true when it did. */
function waitMapped(state: Int32Array, i: number, ms: number): boolean {
  const until = performance.now() + ms;
  while (Atomics.load(state, i) === CLAIMED) {
    const left = until - performance.now();
    if (left <= 0) return false;
    try {
      Atomics.wait(state, i, CLAIMED, Math.min(left, 50));
    } catch {
      // a thread that may not block (a page's main thread) polls; a chunk takes milliseconds
    }
  }
  return true;
}

/** How a prefaulted load went, for its timings. */
export interface PrefaultStats {
  /** Bytes the pager mapped before the load needed them. */
  pagerBytes: number;
  /** Bytes the load mapped itself because the pager was behind. */
  ownBytes: number;
}

/** A heap reserved in chunks, mapped by a pager and handed back to the allocator as the load needs it. */
export class HeapPrefault {
  private next = 0;
  private readonly stats: PrefaultStats = { pagerBytes: 0, ownBytes: 0 };

  private constructor(
    private readonly heap: SharedHeap,
    private readonly job: PagerJob,
    private readonly stuckMs: number,
  ) {}

  /**
   * Reserves `bytes` (rounded up to chunks) and hands the job to `startPager`, which runs mapChunks
   * on another thread; null when the heap cannot grow that far (the load then maps as it goes).
   * `chunkBytes` defaults to chunkBytesFor(bytes); `stuckMs` (default 10 s) bounds the wait for a
   * chunk the pager claimed and never finished.
   */
  static start(
    heap: SharedHeap,
    bytes: number,
    startPager: (job: PagerJob) => void,
    { chunkBytes = chunkBytesFor(bytes), stuckMs = 10_000 }: { chunkBytes?: number; stuckMs?: number } = {},
  ): HeapPrefault | null {
    const n = Math.ceil(bytes / chunkBytes);
    if (n < 1) return null;
    const starts = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const p = heap.malloc(chunkBytes);
      if (!p) {
        for (let j = 0; j < i; j++) heap.free(starts[j]);
        return null;
      }
      starts[i] = p;
    }
    // the heap's buffer after the reservation has grown it, so the pager sees every chunk
    const job: PagerJob = { heap: heap.bytes().buffer as SharedArrayBuffer, starts, chunkBytes, state: sharedInts(n) };
    const prefault = new HeapPrefault(heap, job, stuckMs);
    try {
      startPager(job);
    } catch {
      // no pager: release() maps each chunk itself
    }
    return prefault;
  }

  /** Bytes reserved (whole chunks). */
  get reservedBytes(): number {
    return this.job.starts.length * this.job.chunkBytes;
  }

  /**
   * Hands mapped chunks to the allocator until `bytes` in all have been handed over. Chunks of that
   * span the pager has not claimed are mapped here, from the far end down, while the pager works up
   * from the near end: the two meet in between instead of queueing on the same chunk.
   */
  release(bytes: number): void {
    const { state, starts, chunkBytes } = this.job;
    const end = Math.min(starts.length, Math.ceil(bytes / chunkBytes));
    let own = 0;
    let freed = 0;
    for (let i = end - 1; i >= this.next; i--) own += mapChunk(this.heap.bytes(), this.job, i);
    for (; this.next < end; this.next++) {
      const i = this.next;
      // a pager that died holding a chunk may still write to it: never hand that one out
      if (Atomics.load(state, i) === CLAIMED && !waitMapped(state, i, this.stuckMs)) continue;
      this.heap.free(starts[i]);
      freed += chunkBytes;
    }
    this.stats.ownBytes += own;
    this.stats.pagerBytes += freed - own;
  }

  /** Hands every chunk left to the allocator, unmapped where the pager has not reached it; returns what was mapped. */
  finish(): PrefaultStats {
    const { state, starts, chunkBytes } = this.job;
    for (; this.next < starts.length; this.next++) {
      const i = this.next;
      // a chunk nobody claimed is taken back unmapped; any other is the pager's
      const was = Atomics.compareExchange(state, i, FREE, TAKEN);
      if (was === CLAIMED && !waitMapped(state, i, this.stuckMs)) continue;
      if (was !== FREE) this.stats.pagerBytes += chunkBytes;
      this.heap.free(starts[i]);
    }
    return { ...this.stats };
  }
}

function sharedInts(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}
