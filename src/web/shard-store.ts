// Where checked weight shards are kept between visits, under their SHA-256. In a worker with the
// origin private file system they are files read through a synchronous access handle straight into
// a buffer the loader hands back for the next shard of the same size: Cache Storage returns each
// shard through the browser process into fresh memory, which made reading a cached model the
// largest part of the start-up. Elsewhere (no OPFS, or outside a worker) Cache Storage keeps them.
// Shards an earlier release kept in Cache Storage are moved to OPFS as they are read. A shard is
// stored only once checked against its SHA-256 (checkShard), so an entry is its own proof: it loads
// without a second hash, and a re-converted folder can never be served stale bytes.

export interface ShardStore {
  /** 'opfs' or 'cache': which store this is (reads from OPFS need fewer in flight). */
  kind: 'opfs' | 'cache';
  /** The shard's bytes when it is stored whole (exactly `bytes` long), else null; the buffer comes from `pool`. */
  read(sha256: string, bytes: number, pool: BufferPool): Promise<ArrayBuffer | null>;
  /** Whether the shard is stored whole, without reading it. */
  has(sha256: string, bytes: number): Promise<boolean>;
  /** Keeps a shard; throws the storage's error (QuotaExceededError when full), leaving nothing half-written. */
  write(sha256: string, bytes: ArrayBuffer): Promise<void>;
  /** Bytes and count of the shards kept. */
  info(): Promise<{ bytes: number; entries: number }>;
}

/**
 * Buffers of one load, by size: a shard whose tensors no longer read it (the wasm backend copies
 * what it is given) goes back, and the next shard of that size is read into it, so a load of a
 * gigabyte touches a few buffers' worth of new memory instead of a gigabyte of it.
 */
export class BufferPool {
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

/** Cache Storage: the shards of earlier releases, and the store where OPFS is missing. */
const CACHE = 'rat-weights-v2';
/** Caches of earlier releases, whose shards were stored before they were checked: deleted, not trusted. */
const OLD_CACHES = ['rat-weights-v1'];
/** Stored with each cached shard so the cache size is known without reading the shards back. */
const SIZE_HEADER = 'x-rat-bytes';
const OPFS_DIR = 'rat-weights-v3';

/** Opens Cache Storage (where the kept manifests live too); null when the browser offers none. */
export async function openCache(): Promise<Cache | null> {
  try {
    if (typeof caches === 'undefined') return null;
    await Promise.all(OLD_CACHES.map((name) => caches.delete(name)));
    return await caches.open(CACHE);
  } catch {
    return null; // storage disabled (private mode, quota policy): download every time
  }
}

/** A shard's key in Cache Storage. */
function cacheKey(sha256: string): string {
  return new URL(`/rat-weights-cache/${sha256}.bin`, self.location.origin).href;
}

function cacheStore(cache: Cache): ShardStore {
  return {
    kind: 'cache',
    async read(sha256, bytes) {
      const hit = await cache.match(cacheKey(sha256)).catch(() => undefined);
      const buffer = await hit?.arrayBuffer();
      return buffer && buffer.byteLength === bytes ? buffer : null;
    },
    async has(sha256, bytes) {
      const hit = await cache.match(cacheKey(sha256)).catch(() => undefined);
      return Number(hit?.headers.get(SIZE_HEADER)) === bytes;
    },
    async write(sha256, bytes) {
      // Response copies the bytes, so the caller keeps its own
      await cache.put(cacheKey(sha256), new Response(bytes, { headers: { [SIZE_HEADER]: String(bytes.byteLength) } }));
    },
    info: () => cacheInfo(cache),
  };
}

async function cacheInfo(cache: Cache): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  for (const k of await cache.keys()) {
    if (!k.url.endsWith('.bin')) continue;
    bytes += Number((await cache.match(k))?.headers.get(SIZE_HEADER)) || 0;
    entries++;
  }
  return { bytes, entries };
}

/** The shards' folder in OPFS; null where OPFS or its synchronous handles (dedicated workers only) are missing. */
async function opfsDir(): Promise<FileSystemDirectoryHandle | null> {
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
async function* filesOf(dir: FileSystemDirectoryHandle): AsyncGenerator<FileSystemFileHandle> {
  const it = (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  for await (const h of it) if (h.kind === 'file') yield h as FileSystemFileHandle;
}

function opfsStore(dir: FileSystemDirectoryHandle, legacy: Cache | null): ShardStore {
  const name = (sha256: string) => `${sha256}.bin`;
  // one handle at a time: with two handles being created in the same folder at once, Chromium left
  // one creation pending for good (the load then never ended); and never more than HANDLE_MS on one
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = queue.then(f, f);
    queue = run.catch(() => undefined);
    return run;
  };

  async function readOpfs(sha256: string, bytes: number, pool: BufferPool): Promise<ArrayBuffer | null> {
    let handle: FileSystemSyncAccessHandle;
    try {
      handle = await openHandle(dir, name(sha256), false);
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

  async function writeOpfs(sha256: string, bytes: ArrayBuffer): Promise<void> {
    let handle: FileSystemSyncAccessHandle;
    try {
      handle = await openHandle(dir, name(sha256), true);
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
      await dir.removeEntry(name(sha256)).catch(() => undefined);
      throw e;
    }
    handle.close();
  }

  /** A shard an earlier release kept in Cache Storage: moved here, so the next visit reads it fast. */
  async function readLegacy(sha256: string, bytes: number): Promise<ArrayBuffer | null> {
    if (!legacy) return null;
    const buffer = await cacheStore(legacy).read(sha256, bytes, new BufferPool());
    if (!buffer) return null;
    try {
      await serial(() => writeOpfs(sha256, buffer));
      await legacy.delete(cacheKey(sha256));
    } catch {
      // kept where it was; read from there again next time
    }
    return buffer;
  }

  return {
    kind: 'opfs',
    async read(sha256, bytes, pool) {
      return (await serial(() => readOpfs(sha256, bytes, pool))) ?? readLegacy(sha256, bytes);
    },
    write: (sha256, bytes) => serial(() => writeOpfs(sha256, bytes)),
    async has(sha256, bytes) {
      const file = await dir
        .getFileHandle(name(sha256))
        .then((h) => h.getFile())
        .catch(() => null);
      return file ? file.size === bytes : legacy ? cacheStore(legacy).has(sha256, bytes) : false;
    },
    async info() {
      let bytes = 0;
      let entries = 0;
      for await (const f of filesOf(dir)) {
        if (!f.name.endsWith('.bin')) continue;
        bytes += (await f.getFile()).size;
        entries++;
      }
      const old = legacy ? await cacheInfo(legacy) : { bytes: 0, entries: 0 };
      return { bytes: bytes + old.bytes, entries: entries + old.entries };
    },
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

/**
 * Forgets every kept shard and kept conversion: the OPFS files one by one (a file another tab is
 * reading cannot go yet, and must not stop the rest), and Cache Storage whole (the shards of
 * earlier releases, the kept manifests).
 */
export async function clearStores(): Promise<void> {
  const dir = await opfsDir();
  if (dir) {
    const names: string[] = [];
    for await (const f of filesOf(dir)) names.push(f.name);
    await Promise.all(names.map((n) => dir.removeEntry(n).catch(() => undefined)));
  }
  if (typeof caches !== 'undefined') await caches.delete(CACHE);
}

/** The shard store of this context: OPFS in a worker that has it, else Cache Storage, else null (no storage). */
export async function openShardStore(): Promise<ShardStore | null> {
  const cache = await openCache();
  const dir = await opfsDir();
  if (dir) return opfsStore(dir, cache);
  return cache ? cacheStore(cache) : null;
}
