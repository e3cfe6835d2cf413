// Shard files in the origin private file system, read and written through synchronous access
// handles (dedicated workers only). The shard store (shard-store.ts) reaches them through a worker of
// their own (shard-files.worker.ts), so that reading the next shard runs beside the load's work on
// this one, or in the calling worker where that worker cannot start.

/** The shards' folder in the origin private file system. */
const OPFS_DIR = 'rat-weights-v3';

/** A shard's file name: its SHA-256. */
export const shardFile = (sha256: string) => `${sha256}.bin`;

/** Where a read takes its buffer from and gives it back to when the read fails. */
export interface Buffers {
  take(bytes: number): ArrayBuffer;
  give(buffer: ArrayBuffer): void;
}

/**
 * Buffers of one load, by size: a shard whose tensors no longer read it (the wasm backend copies
 * what it is given) goes back, and the next shard of that size is read into it, so a load of a
 * gigabyte touches a few buffers' worth of new memory instead of a gigabyte of it.
 */
export class BufferPool implements Buffers {
  private free = new Map<number, ArrayBuffer[]>();
  /** A buffer of exactly `bytes`, reused when one was given back. */
  take(bytes: number): ArrayBuffer {
    return this.free.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
  }
  /** Hands `buffer` back; the caller must not read or write it afterwards. */
  give(buffer: ArrayBuffer): void {
    const list = this.free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
  }
}

/** The shards' folder in OPFS; null where OPFS or its synchronous handles (dedicated workers only) are missing. */
export async function opfsDir(): Promise<FileSystemDirectoryHandle | null> {
  try {
    if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype))
      return null;
    const root = await navigator.storage.getDirectory();
    return await root.getDirectoryHandle(OPFS_DIR, { create: true });
  } catch {
    return null;
  }
}

/** The files of a folder (the async iterator is not in TypeScript's worker typings). */
export async function* filesOf(dir: FileSystemDirectoryHandle): AsyncGenerator<FileSystemFileHandle> {
  const it = (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  for await (const h of it) if (h.kind === 'file') yield h as FileSystemFileHandle;
}

/** Shard files by SHA-256: a stored shard's bytes, and storing one. */
export interface ShardFiles {
  /** The shard's bytes when its file is exactly `bytes` long, in a buffer from `pool`; else null. */
  read(sha256: string, bytes: number, pool: Buffers): Promise<ArrayBuffer | null>;
  /** Stores a shard; throws the storage's error (QuotaExceededError when full), leaving nothing half-written. */
  write(sha256: string, bytes: ArrayBuffer): Promise<void>;
}

// One handle at a time in a context, whichever store asks: with two handles being created in the
// same folder at once, Chromium left one creation pending for good (the load then never ended); and
// never more than HANDLE_MS on one. The queue is the module's, not a store's, so two stores open at
// once in one context (where the shard-files worker could not start) still take turns.
let handleQueue: Promise<unknown> = Promise.resolve();

function serial<T>(f: () => Promise<T>): Promise<T> {
  const run = handleQueue.then(f, f);
  handleQueue = run.catch(() => undefined);
  return run;
}

/** The shard files of `dir`, through handles opened in this context. */
export function handleFiles(dir: FileSystemDirectoryHandle): ShardFiles {
  async function read(sha256: string, bytes: number, pool: Buffers): Promise<ArrayBuffer | null> {
    let handle: FileSystemSyncAccessHandle;
    try {
      handle = await openHandle(dir, shardFile(sha256), false);
    } catch {
      return null; // not stored here, or being written by another tab's load
    }
    try {
      if (handle.getSize() !== bytes) return null;
      const buffer = pool.take(bytes);
      if (handle.read(new Uint8Array(buffer), { at: 0 }) === bytes) return buffer;
      pool.give(buffer);
      return null;
    } finally {
      handle.close();
    }
  }

  async function write(sha256: string, bytes: ArrayBuffer): Promise<void> {
    let handle: FileSystemSyncAccessHandle;
    try {
      handle = await openHandle(dir, shardFile(sha256), true);
    } catch (e) {
      // another tab holds the file: it is storing the same checked bytes, or reading them stored
      if ((e as Error)?.name === 'NoModificationAllowedError') return;
      throw e;
    }
    try {
      handle.truncate(0);
      const n = handle.write(new Uint8Array(bytes), { at: 0 });
      handle.flush();
      if (n !== bytes.byteLength) throw new DOMException('the shard was written in part', 'QuotaExceededError');
    } catch (e) {
      handle.close();
      // a shorter file would be refused by its size, but takes space the next shard needs
      await dir.removeEntry(shardFile(sha256)).catch(() => undefined);
      throw e;
    }
    handle.close();
  }

  return {
    read: (sha256, bytes, pool) => serial(() => read(sha256, bytes, pool)),
    write: (sha256, bytes) => serial(() => write(sha256, bytes)),
  };
}

/** How long opening a stored shard may take before the store gives up on it (it takes milliseconds). */
const HANDLE_MS = 10_000;

/**
 * A synchronous handle on `file` of `dir` (created and writable when `create`), or a TimeoutError
 * after HANDLE_MS: a handle that still arrives later is closed at once, so it does not lock the file
 * against the next visit.
 */
async function openHandle(
  dir: FileSystemDirectoryHandle,
  file: string,
  create: boolean,
): Promise<FileSystemSyncAccessHandle> {
  let late = false;
  // readers share a file ('read-only', so two tabs opening at once both read it); a writer has it alone
  const mode = create ? 'readwrite' : 'read-only';
  const opening = dir
    .getFileHandle(file, { create })
    .then((h) =>
      (
        h as unknown as { createSyncAccessHandle(o: { mode: string }): Promise<FileSystemSyncAccessHandle> }
      ).createSyncAccessHandle({ mode }),
    );
  opening.then(
    (h) => late && h.close(),
    () => undefined,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(new DOMException(`the browser did not open the stored shard ${file}`, 'TimeoutError'));
    }, HANDLE_MS);
  });
  try {
    return await Promise.race([opening, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A request to the shard-files worker; a read's buffer is transferred there and back. */
export type FilesRequest =
  | { id: number; op: 'read'; sha256: string; bytes: number; buffer: ArrayBuffer }
  | { id: number; op: 'write'; sha256: string; bytes: ArrayBuffer };

/** The worker's answer: a read's buffer (filled when `ok`), a write's error by name, or that it has no such files. */
export type FilesReply =
  | { id: number; op: 'read'; buffer: ArrayBuffer; ok: boolean }
  | { id: number; op: 'write'; error?: { name: string; message: string } }
  | { id: number; op: 'unavailable' };
