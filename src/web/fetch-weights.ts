import { parseManifest } from '../model/manifest';
import type { WeightSource } from '../model/load';

/** Weights served next to the app: <base>model.json and its shards. */
export async function fetchWeightSource(base: string): Promise<WeightSource> {
  const url = new URL('model.json', new URL(base, location.href));
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Could not fetch ${url.pathname} (HTTP ${res.status}).`);
  const manifest = parseManifest(await res.text(), url.pathname);
  return {
    manifest,
    async readShard(path) {
      const r = await fetch(new URL(path, url));
      if (!r.ok) throw new Error(`Weight shard ${path} could not be fetched (HTTP ${r.status}).`);
      return r.arrayBuffer();
    },
  };
}

export interface WeightsIndexEntry { id: string; path: string; label: string; demo: boolean }

export async function fetchWeightsIndex(): Promise<WeightsIndexEntry[]> {
  const res = await fetch(new URL('weights/index.json', location.href));
  if (!res.ok) throw new Error(`Could not fetch weights/index.json (HTTP ${res.status}).`);
  return (await res.json()).weights;
}
