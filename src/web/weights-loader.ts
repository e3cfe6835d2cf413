import { buildManifest, packShards, planConversion } from '../convert/convert';
import type { ConfigOverrides } from '../convert/keymap';
import { type ShardBytes, checkShard, shardSizeError } from '../model/load';
import { type RatManifest, groupBytes, parseManifest } from '../model/manifest';
import { sha256Hex } from '../model/sha256';
import { weightSpecs } from '../model/weights';
import { inOrder } from '../util/in-order';
import { fetchResumable, fetchRetried } from './resumable-fetch';
import { BufferPool } from './shard-files';
import { type ShardStore, openCache, openShardStore } from './shard-store';

// Weight sets as streams of shards, for the worker: served folders (fetched with bounded
// concurrency, byte-level progress, retries, and a content-addressed copy in the shard store), folders
// picked from disk, and PyTorch checkpoints converted on the fly from a File (read with Blob.slice).

export interface ShardStream {
  manifest: RatManifest;
  totalBytes: number;
  shards: AsyncIterable<ShardBytes>;
  /** Bytes served from the browser's storage so far. */
  cachedBytes(): number;
  /** Why a shard could not be kept in the browser's storage (storage full, say); null when all were. */
  cacheProblem?(): string | null;
  /** A converted checkpoint: keeps it for later visits once it loaded; resolves to its KeptSet id, or null when it could not be kept. */
  keep?(): Promise<string | null>;
}

export type OnBytes = (bytes: number) => void;

const CONCURRENCY = 8;

/** A checkpoint converted in the page is kept as its manifest (beside its shards) under this key. */
function keptKey(id: string): string {
  return new URL(`/rat-weights-cache/kept/${encodeURIComponent(id)}.json`, self.location.origin).href;
}

/** Why a shard could not be stored, in words for the page. */
function storeProblem(e: Error): string {
  return e?.name === 'QuotaExceededError'
    ? "the browser's storage for this page is full"
    : `the browser refused to store them (${e?.name ?? 'error'}: ${e?.message ?? e})`;
}

/** `signal` aborts the downloads in flight, so a cancelled load does not wait for the shard it was fetching. */
export async function urlShards(base: string, onBytes: OnBytes, signal?: AbortSignal): Promise<ShardStream> {
  const root = new URL(base, self.location.href);
  const manifestUrl = new URL('model.json', root).href;
  const res = await fetchRetried(manifestUrl, { signal });
  const manifest = parseManifest(await res.text(), root.pathname + 'model.json');
  const store = await openShardStore();
  const pool = new BufferPool();
  let cached = 0;
  let problem: string | null = null;
  const first = manifest.weightsManifest[0];
  const warm = !!first && !!(await store?.has(first.sha256[0], groupBytes(first)).catch(() => false));
  const shards = inOrder(
    manifest.weightsManifest,
    warm ? concurrency(store) : CONCURRENCY,
    async (group): Promise<ShardBytes> => {
      const kept = await store?.read(group.sha256[0], groupBytes(group), pool).catch(() => null);
      if (kept) {
        cached += kept.byteLength;
        onBytes(kept.byteLength);
        return { group, bytes: kept, trusted: true, recycle: () => pool.give(kept) };
      }
      const bytes = await fetchResumable(new URL(group.paths[0], root).href, groupBytes(group), { onBytes, signal });
      if (bytes.byteLength !== groupBytes(group))
        throw shardSizeError(group.paths[0], bytes.byteLength, groupBytes(group));
      await checkShard(group, bytes);
      // a full store only costs the next visit a download
      await store?.write(group.sha256[0], bytes).catch((e: Error) => {
        problem ??= storeProblem(e);
      });
      return { group, bytes, trusted: true };
    },
  );
  return {
    manifest,
    totalBytes: manifest.weightsManifest.reduce((n, g) => n + groupBytes(g), 0),
    shards,
    cachedBytes: () => cached,
    cacheProblem: () => problem,
  };
}

export async function folderShards(files: File[], onBytes: OnBytes): Promise<ShardStream> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const model = byName.get('model.json');
  if (!model)
    throw new Error(
      'The chosen folder has no model.json. Choose a folder written by "npm run convert-weights", or a .pt / .safetensors checkpoint.',
    );
  const manifest = parseManifest(await model.text(), 'model.json');
  async function* shards(): AsyncGenerator<ShardBytes> {
    for (const group of manifest.weightsManifest) {
      const f = byName.get(group.paths[0]);
      if (!f) throw new Error(`Weight shard ${group.paths[0]} listed in model.json is missing from the chosen folder.`);
      // from its size, before its bytes are read: a file of gigabytes would be read whole first
      if (f.size !== groupBytes(group)) throw shardSizeError(group.paths[0], f.size, groupBytes(group));
      const bytes = await f.arrayBuffer();
      onBytes(bytes.byteLength);
      yield { group, bytes };
    }
  }
  return {
    manifest,
    totalBytes: manifest.weightsManifest.reduce((n, g) => n + groupBytes(g), 0),
    shards: shards(),
    cachedBytes: () => 0,
  };
}

/** A checkpoint converted in the page and kept in the browser's storage, offered in the weight menu on later visits. */
export interface KeptSet {
  /** "kept:" and the SHA-256 of its shards' hashes: the same conversion is kept once. */
  id: string;
  /** The checkpoint's file name. */
  label: string;
  bytes: number;
  /** When it was converted (ISO 8601). */
  keptAt: string;
}

interface KeptEntry {
  id: string;
  keptAt: string;
  manifest: RatManifest;
}

export async function checkpointShards(
  file: File,
  overrides: ConfigOverrides | undefined,
  onBytes: OnBytes,
): Promise<ShardStream> {
  const plan = await planConversion(file, overrides);
  // the shards are listed as they are packed
  const manifest = buildManifest(plan.config, [], {
    label: file.name,
    demo: false,
    dtype: 'float32',
    source: { file: file.name, format: plan.format, bytes: file.size, sha256: '' },
  });
  const totalBytes = weightSpecs(plan.config).reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  const cache = await openCache();
  const store = await openShardStore();
  let problem: string | null = cache && store ? null : 'this browser offers no storage to this page';
  async function* shards(): AsyncGenerator<ShardBytes> {
    for await (const { group, bytes } of packShards(plan.tensors())) {
      manifest.weightsManifest.push(group);
      onBytes(bytes.byteLength);
      const buffer = bytes.buffer as ArrayBuffer;
      // stored as they are made, so that a later visit loads them without converting again
      if (store && !problem)
        await store.write(group.sha256[0], buffer).catch((e: Error) => {
          problem = storeProblem(e);
        });
      yield { group, bytes: buffer, trusted: true };
    }
  }
  /** Once the weights loaded: the manifest beside the shards, which makes the set a choice on later visits. */
  const keep = async () => {
    if (!cache || problem) return null;
    const hashes = new TextEncoder().encode(manifest.weightsManifest.map((g) => g.sha256[0]).join('\n'));
    const entry: KeptEntry = { id: `kept:${await sha256Hex(hashes)}`, keptAt: new Date().toISOString(), manifest };
    await cache
      .put(keptKey(entry.id), new Response(JSON.stringify(entry), { headers: { 'content-type': 'application/json' } }))
      .catch((e: Error) => {
        problem = storeProblem(e);
      });
    return problem ? null : entry.id;
  };
  return { manifest, totalBytes, shards: shards(), cachedBytes: () => 0, cacheProblem: () => problem, keep };
}

/** The checkpoints converted in this browser and kept, newest first. */
export async function keptSets(): Promise<KeptSet[]> {
  const cache = await openCache();
  if (!cache) return [];
  const out: KeptSet[] = [];
  for (const req of await cache.keys()) {
    if (!new URL(req.url).pathname.startsWith('/rat-weights-cache/kept/')) continue;
    const entry = await readKept(cache, req.url).catch(() => null);
    if (entry)
      out.push({
        id: entry.id,
        label: entry.manifest.label,
        bytes: entry.manifest.weightsManifest.reduce((n, g) => n + groupBytes(g), 0),
        keptAt: entry.keptAt,
      });
  }
  return out.sort((a, b) => b.keptAt.localeCompare(a.keptAt));
}

/** A kept entry, its manifest checked like any other (Cache Storage is this origin's, but its bytes are still a disk's). */
async function readKept(cache: Cache, url: string): Promise<KeptEntry | null> {
  const hit = await cache.match(url);
  if (!hit) return null;
  const entry = JSON.parse(await hit.text()) as KeptEntry;
  const manifest = parseManifest(JSON.stringify(entry?.manifest), 'the kept manifest');
  if (typeof entry.id !== 'string' || typeof entry.keptAt !== 'string') return null;
  return { id: entry.id, keptAt: entry.keptAt, manifest };
}

/** A kept checkpoint's shards, from the browser's storage only. */
export async function keptShards(id: string, onBytes: OnBytes): Promise<ShardStream> {
  const cache = await openCache();
  const store = await openShardStore();
  const entry = cache ? await readKept(cache, keptKey(id)) : null;
  const gone =
    "These converted weights are no longer in the browser's storage (it was cleared); open the checkpoint again.";
  if (!store || !entry) throw new Error(gone);
  const pool = new BufferPool();
  let cached = 0;
  const shards = inOrder(entry.manifest.weightsManifest, concurrency(store), async (group): Promise<ShardBytes> => {
    const bytes = await store.read(group.sha256[0], groupBytes(group), pool);
    if (!bytes) throw new Error(gone);
    cached += bytes.byteLength;
    onBytes(bytes.byteLength);
    return { group, bytes, trusted: true, recycle: () => pool.give(bytes) };
  });
  return {
    manifest: entry.manifest,
    totalBytes: entry.manifest.weightsManifest.reduce((n, g) => n + groupBytes(g), 0),
    shards,
    cachedBytes: () => cached,
  };
}

/**
 * Reads in flight from a store that holds the set: OPFS reads are synchronous and fast, so one ahead
 * of the shard being uploaded is enough (and keeps the pool small); Cache Storage needs several to
 * hide its round trips, as downloads do.
 */
function concurrency(store: ShardStore | null): number {
  return store?.kind === 'opfs' ? 2 : CONCURRENCY;
}

/** The shards kept: their bytes and count (kept manifests are not counted). */
export async function cacheInfo(): Promise<{ bytes: number; entries: number }> {
  return (await openShardStore())?.info() ?? { bytes: 0, entries: 0 };
}
