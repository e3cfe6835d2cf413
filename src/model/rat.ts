import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { type DerivedSizes, type RatConfig, SAMPLE_RATE, framesFor } from './config';
import type { RatWeights } from './weights';
import { checkPassFits } from './out-of-memory';
import {
  type FoldedReference,
  type KeyValue,
  attendFolded,
  attendHeads,
  attendPrepared,
  foldPays,
  foldReference,
  gelu,
  projectKeyValue,
  rms,
  runBatchNorm,
  runConvBlock,
  runLayerNorm,
  runLinear,
  runPositionalConv,
} from './layers';

// The RAT forward pass of rat-spec.md for one clip, layer by layer: the encoder output of layer l
// goes through the reference-informed block and into a running sum at once, so memory holds one
// layer's activations, never all of them.

export type RefMode = 'zero' | 'audio';

/** What a reference recording contributes: per encoder layer, its keys and values in the block's attention. */
export interface PreparedReference {
  readonly mode: 'audio';
  readonly frames: number;
  /** Per encoder layer: keys and values per head, or folded into the projections (see FoldedReference). */
  readonly layers: (KeyValue | FoldedReference)[];
  dispose(): void;
}

export interface Progress {
  stage: 'reference' | 'test';
  layer: number;
  layers: number;
}

export interface ForwardOptions {
  /** Reference: a prepared audio reference, or null / undefined for the zero vector (default). */
  reference?: PreparedReference | null;
  /** Also return per-layer RMS of the attention and MLP branches (default false). */
  diagnostics?: boolean;
  /** Encoder layers (0-based) whose outputs to return, for parity checks (default none). */
  probeLayers?: number[];
  /** Also return the pooled embedding (default false). */
  embedding?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** prepareReference only: keep keys and values per head, fold them into the projections, or pick the cheaper (default 'auto'). */
  referenceLayout?: 'auto' | 'heads' | 'folded';
}

export interface RatScore {
  /** P(bona fide) = softmax(logits)[0]; higher means more likely genuine. */
  pBonafide: number;
  /** [bona fide, spoof]. */
  logits: [number, number];
  refMode: RefMode;
  /** Encoder frames of the test clip (one per 20 ms for XLS-R). */
  frames: number;
  embedding?: Float32Array;
  /** Per layer: RMS of the attention branch and of the MLP branch (the paper's disconnection ratio). */
  diagnostics?: { attnRms: number[]; mlpRms: number[] };
  probes?: Record<number, Float32Array>;
}

export class ClipTooShortError extends Error {
  constructor(samples: number, needed: number) {
    super(
      `The clip has ${samples} samples (${((1000 * samples) / SAMPLE_RATE).toFixed(1)} ms at 16 kHz); ` +
        `the model needs at least ${needed} samples (${((1000 * needed) / SAMPLE_RATE).toFixed(1)} ms).`,
    );
    this.name = 'ClipTooShortError';
  }
}

/** The weights turned a clip into NaN or infinite logits: there is no score, and a verdict would be a lie. */
export class NonFiniteLogitsError extends Error {
  constructor(l0: number, l1: number) {
    super(
      `the weights produce non-finite logits (${l0}, ${l1}) for this clip, so there is no score: they are damaged or not RAT weights. Re-convert them from the checkpoint.`,
    );
    this.name = 'NonFiniteLogitsError';
  }
}

/** Whole-clip normalisation layer_norm(w, w.shape), in float64 so every backend starts from the same input. */
export function normaliseWave(wave: Float32Array): Float32Array {
  let mean = 0;
  for (let i = 0; i < wave.length; i++) mean += wave[i];
  mean /= wave.length;
  let v = 0;
  for (let i = 0; i < wave.length; i++) v += (wave[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / wave.length + 1e-5);
  const out = new Float32Array(wave.length);
  for (let i = 0; i < wave.length; i++) out[i] = (wave[i] - mean) * inv;
  return out;
}

/**
 * Frames per pass through the conv stack (2 s at 20 ms): bounds its memory whatever the clip length.
 * Longer chunks raise the peak memory of a long clip without making it faster.
 */
export const CONV_CHUNK_FRAMES = 100;

/** The conv feature extractor on normalised samples, [T, C]. */
function convStack(w: RatWeights, c: RatConfig, samples: Float32Array): Tensor2D {
  return tf.tidy(() => {
    let x = tf.tensor3d(samples, [1, samples.length, 1]); // [1, N, 1]
    c.convLayers.forEach(([, , stride], i) => {
      const next = runConvBlock(w.conv[i], x, stride, c.eps); // [1, T, C]
      x.dispose(); // the largest activations of a clip: free each layer's input at once
      x = next;
    });
    return tf.squeeze(x, [0]) as Tensor2D; // [T, C]
  });
}

/**
 * Normalised waveform through `stack` (a conv feature extractor) in chunks of `chunkFrames` frames,
 * [T, C]: frame t sees only samples [t hop, t hop + receptive field), and a chunk starting at a
 * multiple of hop keeps every layer's frames aligned, so the result is the same as one pass while
 * the 512-channel activations of a long clip never exist all at once.
 */
export function chunkedFeatures(
  z: DerivedSizes,
  wave: Float32Array,
  frames: number,
  chunkFrames: number,
  stack: (samples: Float32Array) => Tensor2D,
): Tensor2D {
  return tf.tidy(() => {
    const norm = normaliseWave(wave);
    const chunks: Tensor2D[] = [];
    for (let f0 = 0; f0 < frames; f0 += chunkFrames) {
      const f1 = Math.min(frames, f0 + chunkFrames);
      const end = f1 === frames ? norm.length : (f1 - 1) * z.hop + z.receptiveField;
      chunks.push(stack(norm.subarray(f0 * z.hop, end)));
    }
    const feats = chunks.length === 1 ? chunks[0] : tf.concat(chunks, 0); // [T, C]
    if (feats.shape[0] !== frames)
      throw new Error(`internal: the conv stack gave ${feats.shape[0]} frames, expected ${frames}`);
    return feats;
  });
}

/** Waveform -> input of the first encoder layer, [T, D]; the conv stack in chunks of CONV_CHUNK_FRAMES. */
function frontend(w: RatWeights, c: RatConfig, z: DerivedSizes, wave: Float32Array, frames: number): Tensor2D {
  return tf.tidy(() => {
    const feats = chunkedFeatures(z, wave, frames, CONV_CHUNK_FRAMES, (samples) => convStack(w, c, samples)); // [T, C]
    const h = runLinear(w.proj.fc, runLayerNorm(w.proj.ln, feats, c.eps)); // [T, D]
    // No LayerNorm here: torchaudio builds XLS-R's Transformer with layer_norm_first=False (the
    // inverse of the layers' flag), so encoder.transformer.layer_norm only follows the last layer in
    // Wav2Vec2Model.forward and never touches the per-layer features RAT pools.
    return tf.add(h, runPositionalConv(w.pos.filters, w.pos.b, h));
  });
}

/** One pre-LN transformer layer: x + SelfAttn(LN1(x)), then + FFN(LN2(x)). */
function encoderLayer(w: RatWeights, c: RatConfig, l: number, x: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const p = w.layers[l];
    const n1 = runLayerNorm(p.ln1, x, c.eps);
    const a =
      'heads' in p.attn
        ? attendHeads(p.attn, n1)
        : attendPrepared(p.attn, c.numHeads, n1, projectKeyValue(p.attn, c.numHeads, n1));
    const x1 = tf.add(x, a) as Tensor2D;
    const n2 = runLayerNorm(p.ln2, x1, c.eps);
    return tf.add(x1, runLinear(p.down, gelu(runLinear(p.up, n2))));
  });
}

/** The zero-vector reference: every key equal, uniform attention, output out_proj(b_v) + b_out. [1, D]. */
export function zeroReferenceAttention(w: RatWeights): Tensor2D {
  return tf.tidy(() => runLinear(w.rib.attn.o, tf.reshape(w.rib.attn.v.b, [1, -1]) as Tensor2D));
}

/** Between layers: a cancel lands here, and the event loop gets a turn when someone listens. */
export async function yieldAndCheck(opts: ForwardOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  if (opts.signal || opts.onProgress) await new Promise((r) => setTimeout(r, 0));
  opts.signal?.throwIfAborted();
}

/** Frames of a clip, or why it cannot be scored (too short, or a pass that cannot fit in memory). */
export function checkLength(c: RatConfig, z: DerivedSizes, wave: Float32Array): number {
  const frames = framesFor(c, wave.length);
  if (frames < 1) throw new ClipTooShortError(wave.length, z.receptiveField);
  checkPassFits(frames, c.ffnDim, wave.length / SAMPLE_RATE);
  return frames;
}

/**
 * Applies `layer` (l, x) -> next x `layers` times from `first`, yielding each output; each is
 * disposed once the next exists. Reports progress and honours a cancel between layers.
 */
export async function* layerOutputs(
  first: Tensor2D,
  layers: number,
  layer: (l: number, x: Tensor2D) => Tensor2D,
  stage: Progress['stage'],
  opts: ForwardOptions,
): AsyncGenerator<{ l: number; x: Tensor2D }> {
  let x = first;
  try {
    for (let l = 0; l < layers; l++) {
      const next = layer(l, x);
      x.dispose();
      x = next;
      yield { l, x };
      if (opts.signal || opts.onProgress) {
        // GPU backends only queue work: wait for this layer so progress is true and a cancel lands here
        const probe = tf.slice(x, [0, 0], [1, 1]);
        await probe.data();
        probe.dispose();
      }
      opts.onProgress?.({ stage, layer: l + 1, layers });
      await yieldAndCheck(opts);
    }
  } finally {
    x.dispose();
  }
}

/** Runs the encoder on a clip, yielding each layer's output [T, D]. */
async function* encoderOutputs(
  w: RatWeights,
  c: RatConfig,
  z: DerivedSizes,
  wave: Float32Array,
  frames: number,
  stage: Progress['stage'],
  opts: ForwardOptions,
): AsyncGenerator<{ l: number; h: Tensor2D }> {
  for await (const { l, x } of layerOutputs(
    frontend(w, c, z, wave, frames),
    c.numLayers,
    (i, x) => encoderLayer(w, c, i, x),
    stage,
    opts,
  ))
    yield { l, h: x };
}

/** Runs the encoder on a reference clip and keeps, per layer, the block's keys and values for it. */
export async function prepareReference(
  w: RatWeights,
  c: RatConfig,
  z: DerivedSizes,
  wave: Float32Array,
  opts: ForwardOptions = {},
): Promise<PreparedReference> {
  const frames = checkLength(c, z, wave);
  const layout = opts.referenceLayout ?? 'auto';
  const fold = layout === 'folded' || (layout === 'auto' && foldPays(c.ribHeads, frames, c.embedDim));
  const layers: (KeyValue | FoldedReference)[] = [];
  const tensorsOf = (l: KeyValue | FoldedReference) => ('m' in l ? [l.m, l.mb, l.u] : [...l.kT, ...l.v]);
  try {
    for await (const { h } of encoderOutputs(w, c, z, wave, frames, 'reference', opts)) {
      const kv = tf.tidy(() => {
        const heads = projectKeyValue(w.rib.attn, c.ribHeads, runLayerNorm(w.rib.lnPre, h, c.eps));
        if (!fold) return [...heads.kT, ...heads.v];
        const f = foldReference(w.rib.attn, heads);
        return [f.m, f.mb, f.u];
      });
      layers.push(
        fold
          ? { heads: c.ribHeads, m: kv[0] as Tensor2D, mb: kv[1] as Tensor1D, u: kv[2] as Tensor2D }
          : { kT: kv.slice(0, c.ribHeads) as Tensor2D[], v: kv.slice(c.ribHeads) as Tensor2D[] },
      );
    }
  } catch (e) {
    layers.forEach((l) => tf.dispose(tensorsOf(l)));
    throw e;
  }
  let disposed = false;
  return {
    mode: 'audio',
    frames,
    layers,
    dispose() {
      if (!disposed) layers.forEach((l) => tf.dispose(tensorsOf(l)));
      disposed = true;
    },
  };
}

/**
 * The end of every forward pass: the pooled sum over layers and frames [D] through the classifier
 * to P(bona fide), with the embedding and the per-layer branch RMS (pairs in `rmsTensors`) when asked.
 */
export async function finishScore(
  k: RatWeights['cls'],
  c: RatConfig,
  pooled: Tensor1D,
  frames: number,
  rmsTensors: tf.Scalar[],
  opts: ForwardOptions,
  refMode: RefMode,
): Promise<RatScore> {
  const [emb, logits] = tf.tidy(() => {
    const e = tf.reshape(tf.div(pooled, c.numLayers * frames), [1, -1]) as Tensor2D; // [1, D]
    const h1 = tf.relu(runBatchNorm(k.bn1, runLinear(k.fc1, e), c.eps));
    const h2 = tf.relu(runBatchNorm(k.bn2, runLinear(k.fc2, h1), c.eps));
    return [e, runLinear(k.fc3, h2)];
  });
  const [lg, ev, rv] = await Promise.all([
    logits.data(),
    opts.embedding ? emb.data() : null,
    Promise.all(rmsTensors.map((t) => t.data())),
  ]);
  tf.dispose([emb, logits]);
  const l0 = lg[0];
  const l1 = lg[1];
  if (!Number.isFinite(l0) || !Number.isFinite(l1)) throw new NonFiniteLogitsError(l0, l1);
  const score: RatScore = { pBonafide: 1 / (1 + Math.exp(l1 - l0)), logits: [l0, l1], refMode, frames }; // softmax(logits)[0], in float64
  if (ev) score.embedding = ev as Float32Array;
  if (opts.diagnostics) {
    score.diagnostics = {
      attnRms: rv.filter((_, i) => i % 2 === 0).map((v) => v[0]),
      mlpRms: rv.filter((_, i) => i % 2 === 1).map((v) => v[0]),
    };
  }
  return score;
}

/** Scores one clip. `zeroAttn` is zeroReferenceAttention(w), computed once per model. */
export async function forward(
  w: RatWeights,
  c: RatConfig,
  z: DerivedSizes,
  zeroAttn: Tensor2D,
  wave: Float32Array,
  opts: ForwardOptions = {},
): Promise<RatScore> {
  const frames = checkLength(c, z, wave);
  const ref = opts.reference ?? null;
  const probeSet = new Set(opts.probeLayers ?? []);
  const probes: Record<number, Float32Array> = {};
  const rmsTensors: tf.Scalar[] = [];
  let pooled: Tensor1D = tf.zeros([c.embedDim]);
  try {
    for await (const { l, h } of encoderOutputs(w, c, z, wave, frames, 'test', opts)) {
      if (probeSet.has(l)) probes[l] = (await h.data()) as Float32Array;
      const [sum, ...branchRms] = tf.tidy(() => {
        const n = runLayerNorm(w.rib.lnPre, h, c.eps);
        // the zero reference's [1, D] output is broadcast by the add below, not copied to [T, D]
        const rl = ref?.layers[l];
        const a = !rl
          ? zeroAttn
          : 'm' in rl
            ? attendFolded(w.rib.attn, n, rl)
            : attendPrepared(w.rib.attn, c.ribHeads, n, rl);
        const m = runLinear(w.rib.down, runLinear(w.rib.up, n, 'relu'));
        const zl = runLayerNorm(w.rib.lnPost, tf.add(tf.add(h, a), m), c.eps); // [T, D]
        const s = tf.add(pooled, tf.sum(zl, 0)) as Tensor1D;
        return opts.diagnostics ? [s, rms(a), rms(m)] : [s];
      });
      pooled.dispose();
      pooled = sum as Tensor1D;
      rmsTensors.push(...(branchRms as tf.Scalar[]));
    }
    const score = await finishScore(w.cls, c, pooled, frames, rmsTensors, opts, ref ? 'audio' : 'zero');
    if (probeSet.size) score.probes = probes;
    return score;
  } finally {
    pooled.dispose();
    tf.dispose(rmsTensors);
  }
}
