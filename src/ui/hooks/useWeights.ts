import { useCallback, useRef, useState } from 'react';
import type { ConfigOverrides } from '../../convert/keymap';
import { type WeightsIndexEntry, fetchWeightsIndex } from '../../web/fetch-weights';
import type { ErrorCode, KeptSet, Progress, WeightsInfo, WeightsSpec } from '../../worker/protocol';
import { WorkerError } from '../../worker/protocol';
import type { InferenceClient } from '../inference-client';

/** Something slow the user may cancel, with its progress. */
export interface Busy {
  label: string;
  progress?: Progress;
  cancel?: () => void;
}

export interface CacheLine {
  bytes: number;
  entries: number;
  persisted: boolean;
}

export interface Weights {
  /** The sets the site offers (weights/index.json). */
  index: WeightsIndexEntry[];
  /** Checkpoints converted in this browser on earlier visits (or this one) and kept, newest first. */
  kept: KeptSet[];
  /** The weights in use; null until the first set loads. */
  info: WeightsInfo | null;
  /** The chosen set's spec: a set that fails to load is not chosen. */
  spec: WeightsSpec | null;
  busy: Busy | null;
  error: string | null;
  /** The worker's code for the error (bad-weights, needs-config, ...), for whoever acts on it rather than on its text. */
  errorCode: ErrorCode | null;
  cache: CacheLine | null;
  /** Loads the chosen set again (after an engine restart), or the site's first set. */
  loadCurrent: () => Promise<void>;
  pickSet: (id: string) => void;
  openFolder: (files: File[]) => void;
  /** A checkpoint, with the converter's --config as JSON text (empty: XLS-R 300M / RAT sizes). */
  openCheckpoint: (file: File, configJson: string) => void;
  clearCache: () => Promise<void>;
}

/** localStorage key of the last set that loaded (a served set's id, or a kept conversion's), loaded again on the next visit. */
const CHOICE_KEY = 'rat-weights';

function rememberedChoice(): string | null {
  try {
    return localStorage.getItem(CHOICE_KEY);
  } catch {
    return null; // storage blocked: the site's first set
  }
}

function remember(spec: WeightsSpec): void {
  try {
    if (spec.kind === 'url' || spec.kind === 'kept') localStorage.setItem(CHOICE_KEY, spec.id);
  } catch {
    /* storage blocked: the next visit starts on the site's first set */
  }
}

const urlSpec = (e: WeightsIndexEntry): WeightsSpec => ({
  kind: 'url',
  id: e.id,
  base: new URL(e.path, document.baseURI).href,
});

/** The weights: the site's sets, a folder or a checkpoint from disk, the download cache. */
export function useWeights(client: InferenceClient): Weights {
  const [index, setIndex] = useState<WeightsIndexEntry[]>([]);
  const [kept, setKept] = useState<KeptSet[]>([]);
  const [info, setInfo] = useState<WeightsInfo | null>(null);
  const [busy, setBusy] = useState<Busy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [errorCode, setErrorCode] = useState<ErrorCode | null>(null);
  const [cache, setCache] = useState<CacheLine | null>(null);
  const specRef = useRef<WeightsSpec | null>(null);
  const [spec, setSpec] = useState<WeightsSpec | null>(null);

  // the cache line is informational: an engine restart or a storage error only leaves it stale
  const refreshCache = useCallback(async () => {
    const k = await client.request('keptWeights', {}).catch(() => null);
    if (k) setKept(k);
    const c = await client.request('cacheInfo', {}).catch(() => null);
    if (!c) return;
    const persisted = (await navigator.storage?.persisted?.().catch(() => false)) ?? false;
    setCache({ ...c, persisted });
  }, [client]);

  const load = useCallback(
    async (next: WeightsSpec, label: string): Promise<{ message: string; code: ErrorCode } | null> => {
      // a set that fails to load does not become the current choice: the weights in use stay chosen
      const previous = specRef.current;
      specRef.current = next;
      setSpec(next);
      setError(null);
      setErrorCode(null);
      const ac = new AbortController();
      const cancel = () => ac.abort();
      setBusy({ label, cancel });
      try {
        const loaded = await client.request(
          'loadWeights',
          { weights: next },
          { signal: ac.signal, onProgress: (progress) => setBusy({ label, progress, cancel }) },
        );
        setInfo(loaded);
        // a converted checkpoint is now kept: reloading it (after an engine restart) reads the kept copy
        if (loaded.keptId && next.kind === 'checkpoint') {
          const keptSpec: WeightsSpec = { kind: 'kept', id: loaded.keptId };
          specRef.current = keptSpec;
          setSpec(keptSpec);
        }
        remember(specRef.current ?? next);
        void refreshCache();
        return null;
      } catch (e) {
        specRef.current = previous;
        setSpec(previous);
        const code = e instanceof WorkerError ? e.code : 'failed';
        const hint =
          code === 'needs-config'
            ? ' In the app, put that JSON under "Checkpoint options" and open the checkpoint again.'
            : '';
        const message = `Could not load ${label}: ${(e as Error).message}${hint}`;
        if (code !== 'crashed') {
          setError(message);
          setErrorCode(code);
        }
        return { message, code };
      } finally {
        setBusy(null);
      }
    },
    [client, refreshCache],
  );

  const loadCurrent = useCallback(async () => {
    let s = specRef.current;
    if (!s) {
      const entries = await fetchWeightsIndex();
      setIndex(entries);
      if (!entries.length) throw new Error('weights/index.json lists no weight sets.');
      void navigator.storage?.persist?.().catch(() => false);
      // the set of the last visit, from the browser's storage; if it is gone the site's first set, with the reason shown
      const last = rememberedChoice();
      const served = entries.find((e) => e.id === last);
      const keptSet = last?.startsWith('kept:')
        ? (await client.request('keptWeights', {}).catch(() => [] as KeptSet[])).find((k) => k.id === last)
        : undefined;
      const lastSpec: WeightsSpec | null = served ? urlSpec(served) : keptSet ? { kind: 'kept', id: keptSet.id } : null;
      // why the site's first set stands in for the last visit's, shown once it is loaded
      let why: { message: string; code: ErrorCode } | null = null;
      if (lastSpec && lastSpec.id !== entries[0].id) {
        const failed = await load(lastSpec, served?.label ?? keptSet?.label ?? lastSpec.id);
        if (!failed) return;
        why = {
          message: `${failed.message} The site's first set (${entries[0].label}) is in use instead.`,
          code: failed.code,
        };
      } else if (last && !lastSpec) {
        // a set the site no longer offers, or a conversion cleared from the browser's storage
        why = {
          message: `The weights of your last visit (${last}) are no longer offered or kept in this browser; ${entries[0].label} are in use. Choose another set in the weights menu, or open the checkpoint again.`,
          code: 'not-loaded',
        };
      }
      s = urlSpec(entries[0]);
      if (why) {
        if (!(await load(s, entries[0].label))) {
          setError(why.message);
          setErrorCode(why.code);
        }
        return;
      }
    }
    await load(
      s,
      s.kind === 'url'
        ? s.id
        : s.kind === 'folder'
          ? 'weights folder'
          : s.kind === 'kept'
            ? 'the kept weights'
            : s.file.name,
    );
  }, [load, client]);

  const pickSet = (id: string) => {
    const entry = index.find((x) => x.id === id);
    if (entry) void load(urlSpec(entry), entry.label);
    const k = kept.find((x) => x.id === id);
    if (k) void load({ kind: 'kept', id: k.id }, k.label);
  };

  const openFolder = (files: File[]) => {
    if (files.length) void load({ kind: 'folder', id: `folder:${Date.now()}`, files }, 'the chosen folder');
  };

  const openCheckpoint = (file: File, configJson: string) => {
    let overrides: ConfigOverrides | undefined;
    try {
      overrides = configJson.trim() ? JSON.parse(configJson) : undefined;
    } catch {
      setError('Checkpoint options are not valid JSON; fix them and open the checkpoint again.');
      setErrorCode('needs-config');
      return;
    }
    const id = `ckpt:${file.name}:${file.size}:${file.lastModified}:${configJson}`;
    void load({ kind: 'checkpoint', id, file, overrides }, file.name);
  };

  const clearCache = () => client.request('cacheClear', {}).then(() => refreshCache());

  return {
    index,
    kept,
    info,
    spec,
    busy,
    error,
    errorCode,
    cache,
    loadCurrent,
    pickSet,
    openFolder,
    openCheckpoint,
    clearCache,
  };
}
