/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs-core';
import { runConditions } from '../analysis/run-conditions';
import { scoreClip } from '../analysis/score-clip';
import { CONDITIONS } from '../analysis/conditions';
import { clipFromChannels, decodeClip } from '../audio/decode';
import { type RatModel, loadFromShards } from '../model/load';
import { needsRestart } from '../model/out-of-memory';
import { webgpuDevice } from '../model/tfjs-internals';
import { SAMPLE_RATE } from '../model/config';
import { ClipTooShortError, type PreparedReference } from '../model/rat';
import { startBackend } from '../web/backend';
import { startPager } from '../web/pager';
import { clearStores } from '../web/shard-store';
import {
  type ShardStream,
  cacheInfo,
  checkpointShards,
  folderShards,
  keptSets,
  keptShards,
  urlShards,
} from '../web/weights-loader';
import { ClipStore } from './clip-store';
import { NotLoadedError, wireError } from './errors';
import type { Api, BackendName, ErrorCode, FromWorker, Progress, RequestType, ToWorker, WeightsInfo } from './protocol';

// The inference worker: owns the tfjs backend, the loaded model, the clips (their files, and a few
// decoded 16 kHz waveforms: see ClipStore) and the prepared references. Requests run one at a time in
// arrival order; cancel and forget act at once.

declare const self: DedicatedWorkerGlobalScope;

const clips = new ClipStore(
  async (name, file) => (await decodeClip(new Uint8Array(await file.arrayBuffer()), name)).wave,
);
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
  const refWave = await clips.wave(refId);
  if (!refWave) throw new NotLoadedError(missing);
  const ref = await model!.prepareReference(refWave, {
    signal,
    onProgress: (p) => progress({ phase: 'reference', done: p.layer, total: p.layers }),
  });
  refs.set(refId, ref);
  return ref;
}

/** The samples a span (seconds) selects: within the clip and at least the model's receptive field long. */
function stretchOf(wave: Float32Array, span: { start: number; end: number }, minSamples: number): Float32Array {
  const a = Math.round(span.start * SAMPLE_RATE);
  const b = Math.round(span.end * SAMPLE_RATE);
  if (!(a >= 0 && b <= wave.length && a < b))
    throw new RangeError(
      `The stretch ${span.start.toFixed(2)}–${span.end.toFixed(2)} s is not within the clip (0–${(wave.length / SAMPLE_RATE).toFixed(2)} s).`,
    );
  if (b - a < minSamples) throw new ClipTooShortError(b - a, minSamples);
  return wave.subarray(a, b);
}

type Handler<K extends RequestType> = (
  payload: Api[K]['req'],
  ctx: { signal: AbortSignal; progress: (p: Progress) => void },
) => Promise<Api[K]['res']>;

const handlers: { [K in RequestType]: Handler<K> } = {
  async init({ backend: force, probeSoftware }) {
    const choice = await startBackend({
      force: force === 'wasm' || force === 'webgpu' ? force : undefined,
      probeSoftware: import.meta.env.VITE_RAT_FAULTS === '1' && probeSoftware === true,
    });
    backend = choice.name;
    if (choice.name === 'webgpu') {
      const device = webgpuDevice();
      device?.lost.then((info) => post({ id: 0, kind: 'device-lost', message: info.message || String(info.reason) }));
    }
    return choice;
  },

  async loadWeights({ weights: spec }, { signal, progress }) {
    const t0 = performance.now();
    let done = 0;
    let stream: ShardStream | null = null;
    const onBytes = (n: number) => {
      done += n;
      progress({ phase: spec.kind === 'checkpoint' ? 'convert' : 'download', done, total: stream?.totalBytes });
    };
    if (spec.kind === 'url') stream = await urlShards(spec.base, onBytes, signal);
    else if (spec.kind === 'folder') stream = await folderShards(spec.files, onBytes);
    else if (spec.kind === 'kept') stream = await keptShards(spec.id, onBytes);
    else stream = await checkpointShards(spec.file, spec.overrides, onBytes);
    // on the GPU the warm-up run compiles the kernels behind the progress bar, before the weights
    // count as ready; wasm compiles nothing per shape and packed every layer while loading, so there
    // the pass would hold "ready" back by more than it could save the first score
    const next = await loadFromShards(stream.manifest, stream.totalBytes, stream.shards, {
      signal,
      warmup: tf.getBackend() !== 'wasm',
      onWarmup: () => progress({ phase: 'warmup' }),
      pager: startPager,
    });
    dropRefs();
    model?.dispose();
    model = next;
    const keptId = (await stream.keep?.()) ?? null;
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
      keptId,
      loadMs: performance.now() - t0,
      loadTimings: next.loadTimings,
      prefault: next.prefault,
    };
    return weights;
  },

  async decode({ clipId, name, file, pcm }) {
    if (!file && !pcm) throw new Error('decode needs a file or pcm');
    const { wave, ...info } = file
      ? await decodeClip(new Uint8Array(await file.arrayBuffer()), name)
      : await clipFromChannels(pcm!.channels, pcm!.sampleRate, name);
    clips.set(clipId, file ? { kind: 'file', name, file } : { kind: 'wave', wave }, wave);
    refs.get(clipId)?.dispose();
    refs.delete(clipId);
    return { ...info, samples: wave.length };
  },

  async score({ clipId, refId, windows, span }, { signal, progress }) {
    if (!model || !weights) throw new NotLoadedError('No weights are loaded yet.');
    const whole = await clips.wave(clipId);
    if (!whole) throw new NotLoadedError('That clip is no longer loaded; drop the file again.');
    const wave = span ? stretchOf(whole, span, model.sizes.receptiveField) : whole;
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
    const wave = await clips.wave(clipId);
    if (!wave) throw new NotLoadedError('That clip is no longer loaded; drop the file again.');
    const get = async (id: string | null, what: string) => {
      if (!id) return null;
      const w = await clips.wave(id);
      if (!w) throw new NotLoadedError(`The ${what} clip is no longer loaded; choose it again.`);
      return w;
    };
    const matched = await get(refId, 'reference');
    const mismatched = await get(mismatchedId, 'mismatched');
    return runConditions(
      model,
      wave,
      { matched, mismatched, seed },
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
    ...clips.stats(),
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
  keptWeights: () => keptSets(),
  cacheClear: async () => {
    await clearStores();
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
  if (msg.type === 'forget' || msg.type === 'cacheInfo' || msg.type === 'keptWeights' || msg.type === 'memory')
    void run();
  else queue = queue.then(run);
};
