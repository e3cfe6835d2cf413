import { afterEach, describe, expect, it, vi } from 'vitest';
import { BufferPool, handleFiles, shardFile } from '../../src/web/shard-files';

// Handles to stored shards are opened one at a time in a context, whichever store asks (Chromium
// left one of two creations in the same folder pending for good), and one that never opens is given
// up after a bound, without holding the queue. OPFS is faked: each file's handle opens when the
// test says so.

interface FakeFile {
  bytes: Uint8Array;
  /** Resolves the pending open; undefined once opened. */
  open?: () => void;
  closed: number;
}

function fakeDir(files: Record<string, Uint8Array>, log: { open: number; most: number; pending: FakeFile[] }) {
  const made = new Map<string, FakeFile>();
  const dir = {
    async getFileHandle(name: string) {
      if (!(name in files)) throw new DOMException('no such file', 'NotFoundError');
      return {
        createSyncAccessHandle: () =>
          new Promise((resolve) => {
            const f: FakeFile = { bytes: files[name], closed: 0 };
            made.set(name, f);
            f.open = () => {
              f.open = undefined;
              log.open++;
              resolve({
                getSize: () => f.bytes.byteLength,
                read: (into: Uint8Array) => (into.set(f.bytes), f.bytes.byteLength),
                close: () => {
                  f.closed++;
                  log.open--;
                },
              });
            };
            log.pending.push(f);
            // handles being created or open at once
            log.most = Math.max(log.most, log.open + log.pending.length);
          }),
      };
    },
  };
  return dir as unknown as FileSystemDirectoryHandle;
}

/** Opens every handle asked for, as the browser would, until `done` settles. */
async function openAsAsked(log: { pending: FakeFile[] }, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => (settled = true));
  while (!settled) {
    log.pending.shift()?.open?.();
    await new Promise((r) => setTimeout(r, 1));
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('handleFiles', () => {
  it('two stores reading at once in one context create and hold one handle at a time, and each gets its shard', async () => {
    const a = Uint8Array.from({ length: 64 }, (_, i) => i);
    const b = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const log = { open: 0, most: 0, pending: [] as FakeFile[] };
    const one = handleFiles(fakeDir({ [shardFile('aa')]: a }, log));
    const two = handleFiles(fakeDir({ [shardFile('bb')]: b }, log));
    const reads = Promise.all([
      one.read('aa', 64, new BufferPool()),
      two.read('bb', 32, new BufferPool()),
      one.read('aa', 64, new BufferPool()),
    ]);
    await openAsAsked(log, reads);
    const [x, y, z] = await reads;
    expect(log.most).toBe(1);
    expect(log.open).toBe(0);
    expect(new Uint8Array(x!)).toEqual(a);
    expect(new Uint8Array(y!)).toEqual(b);
    expect(new Uint8Array(z!)).toEqual(a);
  });

  it('a handle that never opens is given up after 10 s (null: not stored), the next read goes ahead, and a late one is closed', async () => {
    vi.useFakeTimers();
    const a = new Uint8Array(16).fill(7);
    const log = { open: 0, most: 0, pending: [] as FakeFile[] };
    const files = handleFiles(fakeDir({ [shardFile('aa')]: a }, log));
    const stuck = files.read('aa', 16, new BufferPool());
    await vi.advanceTimersByTimeAsync(9_000);
    expect(log.pending).toHaveLength(1); // still waiting on the first handle
    const next = files.read('aa', 16, new BufferPool());
    await vi.advanceTimersByTimeAsync(1_100);
    expect(await stuck).toBeNull();
    // the second read's handle was asked for once the first was given up: it opens, and reads
    await vi.advanceTimersByTimeAsync(0);
    expect(log.pending).toHaveLength(2);
    log.pending[1].open!();
    expect(new Uint8Array((await next)!)).toEqual(a);
    // the first handle opens at last: it is closed at once, not left holding the file
    const late = log.pending[0];
    late.open!();
    await vi.advanceTimersByTimeAsync(0);
    expect(late.closed).toBe(1);
    expect(log.open).toBe(0);
  });
});
