/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs-core';
import { runConditions } from '../analysis/run-conditions';
import { scoreClip } from '../analysis/score-clip';
import { CONDITIONS } from '../analysis/conditions';
import { clipFromChannels, decodeClip } from '../audio/decode';
import { type RatModel, loadFromShards } from '../model/load';
import { needsRestart } from '../model/out-of-memory';
import { webgpuDevice } from '../model/tfjs-internals';
import type { PreparedReference } from '../model/rat';
import { startBackend } from '../web/backend';
import {
  type ShardStream,
  cacheInfo,
  checkpointShards,
  clearCache,
  folderShards,
  urlShards,
} from '../web/weights-loader';
import { NotLoadedError, wireError } from './errors';
import type { Api, BackendName, ErrorCode, FromWorker, Progress, RequestType, ToWorker, WeightsInfo } from './protocol';

// The inference worker: owns the tfjs backend, the loaded model, the decoded clips (16 kHz mono) and
// the prepared references. Requests run one at a time in arrival order; cancel and forget act at once.

declare const self: DedicatedWorkerGlobalScope;

const clips = new Map<string, Float32Array>();
const refs = new Map<string, PreparedReference>();
const running = new Map<number, AbortController>();
let model: RatModel | null = null;
let weights: WeightsInfo | null = null;
let backend: BackendName | null = null;
let queue: Promise<unknown> = Promise.resolve();

const post = (m: FromWorker) => self.postMessage(m);

function dropRefs() {
  refs.forEach((r) => r.dispose());
  refs.clear();
}

/** A reference prepared once and kept for every later clip and window that uses it. */
async function preparedRef(
  refId: string,
  missing: string,
  signal: AbortSignal,
  progress: (p: Progress) => void,
): Promise<PreparedReference> {
  const known = refs.get(refId);
  if (known) return known;
  const refWave = clips.get(refId);
  if (!refWave) throw new NotLoadedError(missing);
  const ref = await model!.prepareReference(refWave, {
    signal,
    onProgress: (p) => progress({ phase: 'reference', done: p.layer, total: p.layers }),
  });
  refs.set(refId, ref);
  return ref;
}

type Handler<K extends RequestType> = (
  payload: Api[K]['req'],
  ctx: { signal: AbortSignal; progress: (p: Progress) => void },
) => Promise<Api[K]['res']>;

const handlers: { [K in RequestType]: Handler<K> } = {
  async init({ backend: force }) {
    const choice = await startBackend(force === 'wasm' || force === 'webgpu' ? force : undefined);
    backend = choice.name;
    if (choice.name === 'webgpu') {
      const device = webgpuDevice();
      device?.lost.then((info) => post({ id: 0, kind: 'device-lost', message: info.message || String(info.reason) }));
    }
    return choice;
  },

  async loadWeights({ weights: spec }, { signal, progress }) {
    let done = 0;
    let stream: ShardStream | null = null;
    const onBytes = (n: number) => {
      done += n;
      progress({ phase: spec.kind === 'checkpoint' ? 'convert' : 'download', done, total: stream?.totalBytes });
    };
    if (spec.kind === 'url') stream = await urlShards(spec.base, onBytes);
    else if (spec.kind === 'folder') stream = await folderShards(spec.files, onBytes);
    else stream = await checkpointShards(spec.file, spec.overrides, onBytes);
    // the warm-up run compiles the kernels behind the progress bar, before the weights count as ready
    const next = await loadFromShards(stream.manifest, stream.totalBytes, stream.shards, {
      signal,
      onWarmup: () => progress({ phase: 'warmup' }),
    });
    dropRefs();
    model?.dispose();
    model = next;
    const m = next.manifest;
    weights = {
      id: spec.id,
      label: m.label,
      demo: m.demo,
      dtype: m.dtype,
      sha256: m.source?.sha256 || null,
      config: m.config,
      bytes: stream.totalBytes,
      cachedBytes: stream.cachedBytes(),
      cacheProblem: stream.cacheProblem?.() ?? null,
    };
    return weights;
  },

  async decode({ clipId, name, bytes, pcm }) {
    if (!bytes && !pcm) throw new Error('decode needs bytes or pcm');
    const { wave, ...info } = bytes
      ? await decodeClip(new Uint8Array(bytes), name)
      : await clipFromChannels(pcm!.channels, pcm!.sampleRate, name);
    clips.set(clipId, wave);
    refs.get(clipId)?.dispose();
    refs.delete(clipId);
    return { ...info, samples: wave.length };
  },

  async score({ clipId, refId, windows }, { signal, progress }) {
    if (!model || !weights) throw new NotLoadedError('No weights are loaded yet.');
    const wave = clips.get(clipId);
    if (!wave) throw new NotLoadedError('That clip is no longer loaded; drop the file again.');
    const ref = refId
      ? await preparedRef(refId, 'The reference clip is no longer loaded; choose it again.', signal, progress)
      : null;
    const t0 = performance.now();
    const r = await scoreClip(model, wave, {
      reference: ref,
      windows,
      diagnostics: true,
      signal,
      onProgress: (p) =>
        progress(
          p.phase === 'window'
            ? { phase: 'window', done: p.window, total: p.windows }
            : { phase: 'score', done: p.layer, total: p.layers },
        ),
    });
    const s = r.single;
    return {
      pBonafide: r.pBonafide,
      pSource: r.pSource,
      logits: s?.logits ?? null,
      refMode: ref ? 'audio' : 'zero',
      frames: s?.frames ?? 0,
      elapsedMs: performance.now() - t0,
      backend: backend!,
      weightsId: weights.id,
      attnRms: s?.diagnostics?.attnRms ?? [],
      mlpRms: s?.diagnostics?.mlpRms ?? [],
      timeline: r.timeline,
    };
  },

  async conditions({ clipId, refId, mismatchedId, seed, maxSeconds }, { signal, progress }) {
    if (!model || !weights) throw new NotLoadedError('No weights are loaded yet.');
    const wave = clips.get(clipId);
    if (!wave) throw new NotLoadedError('That clip is no longer loaded; drop the file again.');
    const get = (id: string | null, what: string) => {
      if (!id) return null;
      const w = clips.get(id);
      if (!w) throw new NotLoadedError(`The ${what} clip is no longer loaded; choose it again.`);
      return w;
    };
    return runConditions(
      model,
      wave,
      { matched: get(refId, 'reference'), mismatched: get(mismatchedId, 'mismatched'), seed },
      {
        signal,
        maxSeconds,
        onProgress: (p) =>
          progress({
            phase: 'condition',
            done: p.done,
            total: p.total,
            label: CONDITIONS.find((c) => c.id === p.id)?.label,
          }),
      },
    );
  },

  async forget({ clipId }) {
    clips.delete(clipId);
    refs.get(clipId)?.dispose();
    refs.delete(clipId);
    return null;
  },

  memory: async () => ({
    numTensors: tf.memory().numTensors,
    numBytes: tf.memory().numBytes,
    clips: clips.size,
    refs: refs.size,
  }),

  async simulateFault({ fault }) {
    if (import.meta.env.VITE_RAT_FAULTS !== '1') throw new Error('Fault injection is not part of this build.');
    if (fault === 'crash')
      setTimeout(() => {
        throw new Error('simulated worker crash');
      });
    else {
      const device = webgpuDevice();
      if (!device) throw new Error('No GPU device to lose: the backend is not WebGPU.');
      device.destroy();
    }
    return null;
  },

  cacheInfo: () => cacheInfo(),
  cacheClear: async () => {
    await clearCache();
    return null;
  },
};

/** What a request's unclassified errors are: a weights set that does not load, audio that does not decode. */
const FALLBACK: Partial<Record<RequestType, ErrorCode>> = { loadWeights: 'bad-weights', decode: 'bad-audio' };

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort();
    return;
  }
  const ac = new AbortController();
  running.set(msg.id, ac);
  const progress = (p: Progress) => post({ id: msg.id, kind: 'progress', progress: p });
  const run = async () => {
    try {
      ac.signal.throwIfAborted();
      const handler = handlers[msg.type] as Handler<typeof msg.type>;
      const result = await handler(msg.payload as never, { signal: ac.signal, progress });
      post({ id: msg.id, kind: 'result', result });
    } catch (e) {
      post({ id: msg.id, kind: 'error', error: wireError(e, FALLBACK[msg.type]) });
      // a WASM module that trapped fails every later call; the page replaces this worker
      if (needsRestart(e)) post({ id: 0, kind: 'out-of-memory', message: (e as Error).message });
    } finally {
      running.delete(msg.id);
    }
  };
  // forget and cache queries never wait behind a long scoring run
  if (msg.type === 'forget' || msg.type === 'cacheInfo' || msg.type === 'memory') void run();
  else queue = queue.then(run);
};
