import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { DerivedSizes, RatConfig } from '../config';
import {
  type ForwardOptions,
  type PreparedReference,
  type Progress,
  type RatScore,
  checkLength,
  chunkedFeatures,
  finishScore,
  layerOutputs,
} from '../rat';
import { type LinearW, type NormW, type RatWeights, weightTensors } from '../weights';
import { rms, runLinear } from '../layers';
import { attention, columnPool, linearGelu, positionalConvResidual, rowNorm } from './programs';

// The RAT forward pass shaped for a GPU (rat-spec.md, same numbers as ../rat.ts within float32
// rounding): few, large dispatches. Three rewrites of the generic pass make that possible:
//  - the query, key and value projections of each encoder layer are one [D, 3D] product, and all
//    heads attend in one kernel that reads its operands straight from that product;
//  - a residual is added by the product that creates it (tfjs's fused matMul adds any broadcastable
//    "bias"), so the stream x is carried as (p, c): a [T, D] tensor p plus a bias vector c known
//    at load (the output and down-projection biases of earlier layers), and the LayerNorm kernel
//    adds c as it reads;
//  - the reference block's LayerNorm is pooled straight into the running sum (columnPool), its
//    normalised [T, D] never written.

/** Frames per pass through the conv stack on a GPU: 15 s, so the default windows and clips take one pass. */
export const GPU_CONV_CHUNK_FRAMES = 750;

export interface GpuLayerW {
  ln1: NormW;
  /** Query, key and value projections side by side: [D, 3D]. */
  qkv: LinearW;
  /** Output projection; its bias lives in `mid` (the carried bias after attention). */
  o: Tensor2D;
  ln2: NormW;
  up: LinearW;
  /** Down projection; its bias is carried into the next layer's `carry`. */
  down: Tensor2D;
  /** Bias carried into this layer's input (sum of earlier output and down-projection biases), [D]. */
  carry: Tensor1D;
  /** carry + this layer's output-projection bias, [D]. */
  mid: Tensor1D;
}

export interface GpuWeights {
  conv: RatWeights['conv'];
  proj: RatWeights['proj'];
  /** Positional conv filters [G, K, Dg, Dg] and bias. */
  pos: { w: Tensor4D; b: Tensor1D };
  layers: GpuLayerW[];
  /** Bias carried out of the last layer, [D]. */
  carryOut: Tensor1D;
  rib: {
    lnPre: NormW;
    q: LinearW;
    o: Tensor2D;
    up: LinearW;
    down: Tensor2D;
    lnPost: NormW;
    /** Key and value projections side by side: [D, 2D]. */
    kv: LinearW;
    /** Per encoder layer: what the reference block adds to the carried stream besides its products, zero reference and audio reference. */
    constZero: Tensor1D[];
    constAudio: Tensor1D[];
    /** For diagnostics: the block's own biases and the zero reference's attention output. */
    oBias: Tensor1D;
    downBias: Tensor1D;
    zeroAttn: Tensor2D;
  };
  cls: RatWeights['cls'];
}

/**
 * Re-lays the generic weight record for the GPU pass. Takes ownership of `w`: every tensor it
 * holds is either kept or disposed. `w.pos.filters` must still be whole ([G, K, Dg, Dg] as one
 * tensor): pass it in `posW`.
 */
export function gpuWeights(w: RatWeights, posW: Tensor4D, zeroAttn: Tensor2D): GpuWeights {
  const keep: Tensor[] = [];
  const out = tf.tidy((): tf.TensorContainer => {
    const d = w.proj.fc.w.shape[1];
    let carry = tf.zeros([d]) as Tensor1D;
    const layers: GpuLayerW[] = w.layers.map((p) => {
      if ('heads' in p.attn) throw new Error('internal: the GPU pass needs whole projections, not ones split per head');
      const a = p.attn;
      const mid = tf.add(carry, a.o.b) as Tensor1D;
      const l: GpuLayerW = {
        ln1: p.ln1,
        ln2: p.ln2,
        up: p.up,
        o: a.o.w,
        down: p.down.w,
        carry,
        mid,
        qkv: { w: tf.concat([a.q.w, a.k.w, a.v.w], 1), b: tf.concat([a.q.b, a.k.b, a.v.b]) }, // [D, 3D], [3D]
      };
      carry = tf.add(mid, p.down.b) as Tensor1D;
      return l;
    });
    const r = w.rib;
    const zero = tf.reshape(zeroAttn, [-1]) as Tensor1D; // [D]
    // the carry out of layer l is the next layer's carry, and the last layer's is carryOut
    const carries = [...layers.slice(1).map((l) => l.carry), carry];
    const g: GpuWeights = {
      conv: w.conv,
      proj: w.proj,
      pos: { w: posW, b: w.pos.b },
      layers,
      carryOut: carry,
      cls: w.cls,
      rib: {
        lnPre: r.lnPre,
        q: r.attn.q,
        o: r.attn.o.w,
        up: r.up,
        down: r.down.w,
        lnPost: r.lnPost,
        kv: { w: tf.concat([r.attn.k.w, r.attn.v.w], 1), b: tf.concat([r.attn.k.b, r.attn.v.b]) }, // [D, 2D], [2D]
        constZero: carries.map((c) => tf.add(tf.add(c, zero), r.down.b) as Tensor1D),
        constAudio: carries.map((c) => tf.add(tf.add(c, r.attn.o.b), r.down.b) as Tensor1D),
        oBias: r.attn.o.b,
        downBias: r.down.b,
        zeroAttn,
      },
    };
    keep.push(...gpuWeightTensors(g));
    return g as unknown as tf.TensorContainer;
  }) as unknown as GpuWeights;
  const kept = new Set(keep);
  tf.dispose([...weightTensors(w), zeroAttn].filter((t) => !kept.has(t)));
  return out;
}

/** Every tensor a GPU weight record holds, for disposal. */
export function gpuWeightTensors(w: GpuWeights): Tensor[] {
  return weightTensors(w as unknown as RatWeights);
}

/** Per encoder layer, a reference's keys and values side by side: [Tk, 2D]. */
export interface GpuPreparedReference extends PreparedReference {
  readonly kv: Tensor2D[];
}

/** The conv feature extractor on normalised samples, [T, C]. */
function convStack(w: GpuWeights, c: RatConfig, samples: Float32Array): Tensor2D {
  return tf.tidy(() => {
    let x = tf.tensor4d(samples, [1, 1, samples.length, 1]); // [1, 1, N, 1]
    c.convLayers.forEach(([ch, k, stride], i) => {
      const p = w.conv[i];
      const y = tf.fused.conv2d({
        x,
        filter: tf.reshape(p.w, [1, k, -1, ch]) as Tensor4D,
        strides: [1, stride],
        pad: 'valid',
        bias: p.b,
      }); // [1, 1, T, C]
      x.dispose();
      const n = rowNorm(tf.reshape(y, [-1, ch]) as Tensor2D, p.ln.g, p.ln.b, null, c.eps, 'norm-gelu'); // [T, C]
      y.dispose();
      x = tf.reshape(n, [1, 1, -1, ch]);
    });
    return tf.reshape(x, [-1, x.shape[3]]) as Tensor2D; // [T, C]
  });
}

/** Waveform -> input of the first encoder layer, [T, D]; the conv stack in chunks as in ../rat.ts. */
function frontend(w: GpuWeights, c: RatConfig, z: DerivedSizes, wave: Float32Array, frames: number): Tensor2D {
  return tf.tidy(() => {
    const feats = chunkedFeatures(z, wave, frames, GPU_CONV_CHUNK_FRAMES, (samples) => convStack(w, c, samples)); // [T, C]
    const h = runLinear(w.proj.fc, rowNorm(feats, w.proj.ln.g, w.proj.ln.b, null, c.eps)); // [T, D]
    return positionalConvResidual(h, w.pos.w, w.pos.b);
  });
}

/** One encoder layer on the carried stream: (p, layer.carry) in, p out with carry layers[l + 1].carry (or carryOut). */
function encoderLayer(p: GpuLayerW, c: RatConfig, z: DerivedSizes, x: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const d = c.embedDim;
    const n1 = rowNorm(x, p.ln1.g, p.ln1.b, p.carry, c.eps);
    const qkv = runLinear(p.qkv, n1); // [T, 3D]
    const ctx = attention(
      { t: qkv, offset: 0 },
      { t: qkv, offset: d },
      { t: qkv, offset: 2 * d },
      c.numHeads,
      z.headDim,
    ); // [T, D]
    const a1 = tf.fused.matMul({ a: ctx, b: p.o, bias: x }) as Tensor2D; // x + ctx Wo; true value a1 + mid
    const n2 = rowNorm(a1, p.ln2.g, p.ln2.b, p.mid, c.eps);
    const u = linearGelu(n2, p.up.w, p.up.b); // [T, F]
    return tf.fused.matMul({ a: u, b: p.down, bias: a1 }) as Tensor2D; // a1 + u Wdown; true value + next carry
  });
}

/** Runs the encoder, yielding each layer's carried output p [T, D] and its carry. */
async function* encoderOutputs(
  w: GpuWeights,
  c: RatConfig,
  z: DerivedSizes,
  wave: Float32Array,
  frames: number,
  stage: Progress['stage'],
  opts: ForwardOptions,
): AsyncGenerator<{ l: number; p: Tensor2D; carry: Tensor1D }> {
  const layers = layerOutputs(
    frontend(w, c, z, wave, frames),
    c.numLayers,
    (l, x) => encoderLayer(w.layers[l], c, z, x),
    stage,
    opts,
  );
  for await (const { l, x } of layers)
    yield { l, p: x, carry: l + 1 < c.numLayers ? w.layers[l + 1].carry : w.carryOut };
}

/** Runs the encoder on a reference clip and keeps, per layer, the block's keys and values for it. */
export async function prepareReferenceGpu(
  w: GpuWeights,
  c: RatConfig,
  z: DerivedSizes,
  wave: Float32Array,
  opts: ForwardOptions = {},
): Promise<GpuPreparedReference> {
  const frames = checkLength(c, z, wave);
  const kv: Tensor2D[] = [];
  try {
    for await (const { p, carry } of encoderOutputs(w, c, z, wave, frames, 'reference', opts)) {
      kv.push(tf.tidy(() => runLinear(w.rib.kv, rowNorm(p, w.rib.lnPre.g, w.rib.lnPre.b, carry, c.eps)))); // [Tk, 2D]
    }
  } catch (e) {
    tf.dispose(kv);
    throw e;
  }
  let disposed = false;
  return {
    mode: 'audio',
    frames,
    layers: [],
    kv,
    dispose() {
      if (!disposed) tf.dispose(kv);
      disposed = true;
    },
  };
}

function isGpuReference(r: PreparedReference): r is GpuPreparedReference {
  return 'kv' in r && Array.isArray((r as GpuPreparedReference).kv);
}

/** Scores one clip on the GPU pass; same contract as ../rat.ts forward. */
export async function forwardGpu(
  w: GpuWeights,
  c: RatConfig,
  z: DerivedSizes,
  wave: Float32Array,
  opts: ForwardOptions = {},
): Promise<RatScore> {
  const frames = checkLength(c, z, wave);
  const ref = opts.reference ?? null;
  if (ref && !isGpuReference(ref))
    throw new Error('This reference was prepared by another backend: prepare it again with the model that scores.');
  const d = c.embedDim;
  const probeSet = new Set(opts.probeLayers ?? []);
  const probes: Record<number, Float32Array> = {};
  const rmsTensors: tf.Scalar[] = [];
  let pooled: Tensor1D = tf.zeros([d]);
  try {
    for await (const { l, p, carry } of encoderOutputs(w, c, z, wave, frames, 'test', opts)) {
      if (probeSet.has(l)) {
        const h = tf.add(p, carry);
        probes[l] = (await h.data()) as Float32Array;
        h.dispose();
      }
      const r = w.rib;
      const [sum, ...branchRms] = tf.tidy(() => {
        const n = rowNorm(p, r.lnPre.g, r.lnPre.b, carry, c.eps);
        const hidden = runLinear(r.up, n, 'relu'); // [T, 4D]
        let s = tf.fused.matMul({ a: hidden, b: r.down, bias: p }) as Tensor2D; // p + m - b_down
        let ctx: Tensor2D | null = null;
        if (ref) {
          const q = runLinear(r.q, n); // [T, D]
          const kv = ref.kv[l];
          ctx = attention({ t: q, offset: 0 }, { t: kv, offset: 0 }, { t: kv, offset: d }, c.ribHeads, z.ribHeadDim); // [T, D]
          s = tf.fused.matMul({ a: ctx, b: r.o, bias: s }) as Tensor2D; // + a - b_out
        }
        const k = (ref ? r.constAudio : r.constZero)[l];
        const stats = rowNorm(s, null, null, k, c.eps, 'stats');
        const next = columnPool(s, stats, k, r.lnPost.g, r.lnPost.b, pooled);
        if (!opts.diagnostics) return [next];
        // the branches themselves, only when asked: the fast pass never forms them
        const a = ctx ? tf.fused.matMul({ a: ctx, b: r.o, bias: r.oBias }) : r.zeroAttn;
        const m = tf.fused.matMul({ a: hidden, b: r.down, bias: r.downBias });
        return [next, rms(a), rms(m)];
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

/** The positional filters whole again, [G, K, Dg, Dg], from the per-group split the generic record holds. */
export function wholePositionalFilters(filters: Tensor3D[]): Tensor4D {
  return tf.stack(filters) as Tensor4D;
}
