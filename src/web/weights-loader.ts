import { buildManifest, packShards, planConversion } from '../convert/convert';
import type { ConfigOverrides } from '../convert/keymap';
import type { ShardBytes } from '../model/load';
import { type RatManifest, groupBytes, parseManifest } from '../model/manifest';
import { weightSpecs } from '../model/weights';
import { inOrder } from '../util/in-order';
import { fetchResumable, fetchRetried } from './resumable-fetch';

// Weight sets as streams of shards, for the worker: served folders (fetched with bounded
// concurrency, byte-level progress, retries, and a content-addressed Cache Storage copy), folders
// picked from disk, and PyTorch checkpoints converted on the fly from a File (read with Blob.slice).

export interface ShardStream {
  manifest: RatManifest;
  totalBytes: number;
  shards: AsyncIterable<ShardBytes>;
  /** Bytes served from Cache Storage so far. */
  cachedBytes(): number;
  /** Why a shard could not be kept in Cache Storage (storage full, say); null when all were. */
  cacheProblem?(): string | null;
}

export type OnBytes = (bytes: number) => void;

const CACHE = 'rat-weights-v1';
/** Stored with each cached shard so the cache size is known without reading the shards back. */
const SIZE_HEADER = 'x-rat-bytes';
const CONCURRENCY = 3;

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE);
  } catch {
    return null; // storage disabled (private mode, quota policy): download every time
  }
}

/** Shards are cached under their SHA-256, so a re-converted folder can never be served stale bytes. */
function cacheKey(sha256: string): string {
  return new URL(`/rat-weights-cache/${sha256}.bin`, self.location.origin).href;
}

export async function urlShards(base: string, onBytes: OnBytes): Promise<ShardStream> {
  const root = new URL(base, self.location.href);
  const manifestUrl = new URL('model.json', root).href;
  const res = await fetchRetried(manifestUrl);
  const manifest = parseManifest(await res.text(), root.pathname + 'model.json');
  const cache = await openCache();
  let cached = 0;
  let problem: string | null = null;
  const shards = inOrder(manifest.weightsManifest, CONCURRENCY, async (group): Promise<ShardBytes> => {
    const key = cacheKey(group.sha256[0]);
    const hit = await cache?.match(key).catch(() => undefined);
    if (hit) {
      const bytes = await hit.arrayBuffer();
      if (bytes.byteLength === groupBytes(group)) {
        cached += bytes.byteLength;
        onBytes(bytes.byteLength);
        return { group, bytes };
      }
    }
    const bytes = await fetchResumable(new URL(group.paths[0], root).href, groupBytes(group), { onBytes });
    // Response copies the bytes, so the loader keeps its own; a full quota only costs the next visit a download
    await cache
      ?.put(key, new Response(bytes, { headers: { [SIZE_HEADER]: String(bytes.byteLength) } }))
      .catch((e: Error) => {
        problem ??=
          e?.name === 'QuotaExceededError'
            ? "the browser's storage for this page is full"
            : `the browser refused to store them (${e?.name ?? 'error'}: ${e?.message ?? e})`;
      });
    return { group, bytes };
  });
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
  async function* shards(): AsyncGenerator<ShardBytes> {
    for await (const { group, bytes } of packShards(plan.tensors())) {
      manifest.weightsManifest.push(group);
      onBytes(bytes.byteLength);
      yield { group, bytes: bytes.buffer as ArrayBuffer, trusted: true };
    }
  }
  return { manifest, totalBytes, shards: shards(), cachedBytes: () => 0 };
}

export async function cacheInfo(): Promise<{ bytes: number; entries: number }> {
  const cache = await openCache();
  if (!cache) return { bytes: 0, entries: 0 };
  let bytes = 0;
  const keys = await cache.keys();
  for (const k of keys) bytes += Number((await cache.match(k))?.headers.get(SIZE_HEADER)) || 0;
  return { bytes, entries: keys.length };
}

export async function clearCache(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(CACHE);
}
