import {
  BufferPool,
  type FilesReply,
  type FilesRequest,
  type ShardFiles,
  filesOf,
  handleFiles,
  opfsDir,
  shardFile,
} from './shard-files';

// Where checked weight shards are kept between visits, under their SHA-256. In a worker with the
// origin private file system they are files, read in a worker of their own (shard-files.ts) through a
// synchronous access handle straight into a buffer the loader hands back for the next shard of the
// same size, while the load works on the shard before: Cache Storage returns each
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

/** Cache Storage: the shards of earlier releases, and the store where OPFS is missing. */
const CACHE = 'rat-weights-v2';
/** Caches of earlier releases, whose shards were stored before they were checked: deleted, not trusted. */
const OLD_CACHES = ['rat-weights-v1'];
/** Stored with each cached shard so the cache size is known without reading the shards back. */
const SIZE_HEADER = 'x-rat-bytes';

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

function opfsStore(dir: FileSystemDirectoryHandle, legacy: Cache | null): ShardStore {
  const files = workerFiles(dir);
  /** A shard an earlier release kept in Cache Storage: moved here, so the next visit reads it fast. */
  async function readLegacy(sha256: string, bytes: number): Promise<ArrayBuffer | null> {
    if (!legacy) return null;
    const buffer = await cacheStore(legacy).read(sha256, bytes, new BufferPool());
    if (!buffer) return null;
    try {
      await files.write(sha256, buffer);
      await legacy.delete(cacheKey(sha256));
    } catch {
      // kept where it was; read from there again next time
    }
    return buffer;
  }

  return {
    kind: 'opfs',
    async read(sha256, bytes, pool) {
      return (await files.read(sha256, bytes, pool)) ?? readLegacy(sha256, bytes);
    },
    write: (sha256, bytes) => files.write(sha256, bytes),
    async has(sha256, bytes) {
      const file = await dir
        .getFileHandle(shardFile(sha256))
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

interface FilesChannel {
  worker: Worker;
  nextId: number;
  /** Requests sent and not answered: each settles from its reply, or is served here if the worker fails. */
  pending: Map<number, { reply: (r: FilesReply) => void; fallback: () => void }>;
}

/** The shard-files worker of this context, started once; null where it cannot start or once it failed. */
let channel: FilesChannel | null | undefined;

function filesChannel(): FilesChannel | null {
  if (channel !== undefined) return channel;
  let worker: Worker;
  try {
    if (typeof Worker === 'undefined') return (channel = null);
    worker = new Worker(new URL('./shard-files.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return (channel = null);
  }
  const c: FilesChannel = { worker, nextId: 1, pending: new Map() };
  const failed = () => {
    if (channel === c) channel = null;
    worker.terminate();
    for (const p of c.pending.values()) p.fallback();
    c.pending.clear();
  };
  worker.addEventListener('message', (ev: MessageEvent<FilesReply>) => {
    // a worker without the files (not expected where this one has them): this request and the rest are served here
    if (ev.data.op === 'unavailable') return failed();
    const p = c.pending.get(ev.data.id);
    c.pending.delete(ev.data.id);
    p?.reply(ev.data);
  });
  worker.addEventListener('error', (ev) => {
    ev.preventDefault();
    failed();
  });
  worker.addEventListener('messageerror', failed);
  return (channel = c);
}

/**
 * The shard files of `dir` through the shard-files worker: its reads run beside the load's work
 * (a synchronous read here would hold this worker), and handles are opened in one place. Where the
 * worker cannot start or fails, requests (those in flight included) are served here instead.
 */
function workerFiles(dir: FileSystemDirectoryHandle): ShardFiles {
  const here = handleFiles(dir);
  const ask = <T>(
    send: (c: FilesChannel, id: number) => void,
    reply: (r: FilesReply) => T,
    fallback: () => Promise<T>,
  ) =>
    new Promise<T>((resolve, reject) => {
      const c = filesChannel();
      if (!c) {
        fallback().then(resolve, reject);
        return;
      }
      const id = c.nextId++;
      c.pending.set(id, {
        reply: (r) => {
          try {
            resolve(reply(r));
          } catch (e) {
            reject(e);
          }
        },
        fallback: () => fallback().then(resolve, reject),
      });
      send(c, id);
    });
  return {
    read: (sha256, bytes, pool) =>
      ask(
        (c, id) => {
          const buffer = pool.take(bytes);
          c.worker.postMessage({ id, op: 'read', sha256, bytes, buffer } satisfies FilesRequest, [buffer]);
        },
        (r) => {
          const { buffer, ok } = r as Extract<FilesReply, { op: 'read' }>;
          if (ok) return buffer;
          pool.give(buffer);
          return null;
        },
        () => here.read(sha256, bytes, pool),
      ),
    write: (sha256, bytes) =>
      ask(
        // copied there: the caller goes on using its bytes
        (c, id) => c.worker.postMessage({ id, op: 'write', sha256, bytes } satisfies FilesRequest),
        (r) => {
          const { error } = r as Extract<FilesReply, { op: 'write' }>;
          if (error) throw new DOMException(error.message, error.name);
        },
        () => here.write(sha256, bytes),
      ),
  };
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
