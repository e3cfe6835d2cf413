import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionW, BatchNormW, ConvW, HeadSplitAttentionW, LinearW, NormW } from './weights';

// Layers as pure functions of (weights, input). Callers wrap them in tf.tidy.

/** x [T, in] -> [T, out]. */
export function runLinear(p: LinearW, x: Tensor2D, activation: 'linear' | 'relu' = 'linear'): Tensor2D {
  return tf.fused.matMul({ a: x, b: p.w, bias: p.b, activation }) as Tensor2D;
}

/** LayerNorm over the last axis, biased variance as PyTorch. Each full-size temporary is freed as soon as it is used. */
export function runLayerNorm<T extends tf.Tensor>(p: NormW, x: T, eps: number): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const centred = tf.sub(x, mean);
    const scaled = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
    centred.dispose();
    const gained = tf.mul(scaled, p.g);
    scaled.dispose();
    return tf.add(gained, p.b) as T;
  });
}

/** BatchNorm in inference mode (running statistics) on x [B, C]. */
export function runBatchNorm(p: BatchNormW, x: Tensor2D, eps: number): Tensor2D {
  return tf.batchNorm(x, p.mean, p.variance, p.b, p.g, eps);
}

/** Exact (erf) GELU, as torch.nn.functional.gelu's default; at most two full-size temporaries live at once. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const scaled = tf.mul(x, Math.SQRT1_2);
    const e = tf.erf(scaled);
    scaled.dispose();
    const e1 = tf.add(e, 1);
    e.dispose();
    const half = tf.mul(x, 0.5);
    return tf.mul(half, e1) as T;
  });
}

/**
 * One conv extractor block: Conv1d (valid, strided, bias fused) -> LayerNorm over channels -> GELU.
 * x [1, N, Cin]. The early layers' outputs are the largest tensors of a clip (512 channels at
 * 3.2 kHz), so each intermediate is freed as soon as the next exists.
 */
export function runConvBlock(p: ConvW, x: Tensor3D, stride: number, eps: number): Tensor3D {
  return tf.tidy(() => {
    const [k, cin, cout] = p.w.shape;
    const y = tf.fused.conv2d({
      x: tf.expandDims(x, 1) as Tensor4D,
      filter: tf.reshape(p.w, [1, k, cin, cout]) as Tensor4D,
      strides: [1, stride],
      pad: 'valid',
      bias: p.b,
    }); // [1, 1, T, C]
    const n = runLayerNorm(p.ln, tf.squeeze(y, [1]) as Tensor3D, eps); // [1, T, C]
    y.dispose();
    return gelu(n);
  });
}

/**
 * Grouped positional convolution (tfjs has none): one conv per channel group with its own filter
 * [K, Dg, Dg] (split once at load: slicing the 4-D weight per clip cost seconds on wasm), zero
 * padding of kernel/2 both sides as PyTorch's Conv1d(padding=K//2), keeping the first T frames (an
 * even kernel yields T + 1), then GELU. x [T, D] -> [T, D].
 */
export function runPositionalConv(filters: Tensor3D[], b: Tensor1D, x: Tensor2D): Tensor2D {
  const kernel = filters[0].shape[0];
  const [t, d] = x.shape;
  const g = filters.length;
  const pad = Math.floor(kernel / 2);
  const padded = tf.pad(x, [
    [pad, pad],
    [0, 0],
  ]); // [T + 2 pad, D]
  // a native gather per group: tfjs-wasm's split, slice and unstack copy the whole input through
  // JavaScript each time, which is slow in the browser's threaded build (a shared heap)
  const grouped = tf.reshape(padded, [-1, g, d / g]); // [T + 2 pad, G, Dg]
  const inputs = filters.map((_, i) => tf.gather(grouped, i, 1) as Tensor2D); // G x [T + 2 pad, Dg]
  const outs = inputs.map((xi, i) =>
    tf.squeeze(tf.conv1d(tf.expandDims(xi, 0) as Tensor3D, filters[i], 1, 'valid'), [0]),
  ); // [T', Dg]
  const y = tf.slice(tf.concat(outs, 1), [0, 0], [t, -1]) as Tensor2D; // [T, D]
  return gelu(tf.add(y, b));
}

/**
 * What a reference contributes to one attention layer, per head: keys transposed [Dh, Tk] and values
 * [Tk, Dh]. Two-dimensional per head because tfjs-wasm sends only unbatched, untransposed matMuls
 * to XNNPACK (batched ones take a scalar loop, far slower), and XNNPACK packs the right-hand side
 * once per tensor, so keeping these tensors lets every clip reuse the packing.
 */
export interface KeyValue {
  kT: Tensor2D[];
  v: Tensor2D[];
}

/** Keys and values of xkv [Tk, D], split into heads. */
export function projectKeyValue(p: AttentionW, heads: number, xkv: Tensor2D): KeyValue {
  const kT = tf.transpose(runLinear(p.k, xkv)); // [D, Tk]
  return { kT: tf.split(kT, heads, 0) as Tensor2D[], v: tf.split(runLinear(p.v, xkv), heads, 1) as Tensor2D[] }; // H x [Dh, Tk], H x [Tk, Dh]
}

/** Self-attention of x [T, D] with projections split per head at load: no per-clip split of [T, D]. */
export function attendHeads(p: HeadSplitAttentionW, x: Tensor2D): Tensor2D {
  const scale = 1 / Math.sqrt(p.heads.q[0].w.shape[1]);
  const ctx = p.heads.q.map((q, h) =>
    tf.tidy(() => {
      const qh = tf.mul(runLinear(q, x), scale) as Tensor2D; // [T, Dh]
      const kT = tf.transpose(runLinear(p.heads.k[h], x)) as Tensor2D; // [Dh, T]
      return tf.matMul(tf.softmax(tf.matMul(qh, kT)), runLinear(p.heads.v[h], x)); // [T, Dh]
    }),
  ); // H x [T, Dh]
  return runLinear(p.o, tf.concat(ctx, 1) as Tensor2D); // [T, D]
}

/** Multi-head attention of queries xq [Tq, D] over prepared keys and values. */
export function attendPrepared(p: AttentionW, heads: number, xq: Tensor2D, kv: KeyValue): Tensor2D {
  const d = xq.shape[1];
  const scale = 1 / Math.sqrt(d / heads);
  const q = tf.split(tf.mul(runLinear(p.q, xq), scale), heads, 1) as Tensor2D[]; // H x [Tq, Dh]
  // one head's [Tq, Tk] scores at a time: holding all H of them would make a long clip's peak H times larger
  const ctx = q.map((qh, h) => tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(qh, kv.kT[h])), kv.v[h]))); // H x [Tq, Dh]
  return runLinear(p.o, tf.concat(ctx, 1) as Tensor2D); // [Tq, D]
}

/**
 * A reference folded into the query and output projections, all heads side by side (Tk reference
 * frames, H heads): scores = xq m + mb, out = softmax_per_head(scores) u + b_out, where
 * m = scale [Wq_h K_h^T]_h [D, H Tk], mb = scale [b_q,h K_h^T]_h [1, H Tk] and u = [V_h Wo_h]_h
 * [H Tk, D]. Exact algebra, and cheaper than projecting queries and outputs per clip while
 * H Tk < D + Tk (a reference up to about 6.8 s for RAT): two [T, D] x [D, H Tk]-sized products
 * instead of two [T, D] x [D, D] ones.
 */
export interface FoldedReference {
  heads: number;
  m: Tensor2D;
  mb: Tensor1D;
  u: Tensor2D;
}

/** Whether folding pays for a reference of tk frames (see FoldedReference). */
export function foldPays(heads: number, tk: number, d: number): boolean {
  return heads * tk < d + tk;
}

/** Folds prepared keys and values into the query and output weights (which must still hold their values). */
export function foldReference(p: AttentionW, kv: KeyValue): FoldedReference {
  const heads = kv.kT.length;
  const d = p.q.w.shape[0];
  const dh = d / heads;
  const scale = 1 / Math.sqrt(dh);
  const wq = tf.split(p.q.w, heads, 1); // H x [D, Dh]
  const bq = tf.split(tf.reshape(p.q.b, [1, d]), heads, 1); // H x [1, Dh]
  const wo = tf.split(p.o.w, heads, 0); // H x [Dh, D]
  const m = tf.mul(
    tf.concat(
      kv.kT.map((k, h) => tf.matMul(wq[h], k)),
      1,
    ),
    scale,
  ) as Tensor2D; // [D, H Tk]
  // scaled after the reshape: tfjs-wasm's fused bias must own rank-1 data, and a reshape only relabels
  const mb = tf.mul(
    tf.reshape(
      tf.concat(
        kv.kT.map((k, h) => tf.matMul(bq[h], k)),
        1,
      ),
      [-1],
    ),
    scale,
  ) as Tensor1D; // [H Tk]
  const u = tf.concat(
    kv.v.map((v, h) => tf.matMul(v, wo[h])),
    0,
  ) as Tensor2D; // [H Tk, D]
  return { heads, m, mb, u };
}

/** Attention of queries xq [Tq, D] over a folded reference: the same result as attendPrepared. */
export function attendFolded(p: AttentionW, xq: Tensor2D, f: FoldedReference): Tensor2D {
  const t = xq.shape[0];
  const scores = tf.fused.matMul({ a: xq, b: f.m, bias: f.mb }); // [Tq, H Tk]
  const weights = tf.reshape(tf.softmax(tf.reshape(scores, [t, f.heads, -1])), [t, -1]) as Tensor2D; // [Tq, H, Tk] -> [Tq, H Tk]
  return tf.fused.matMul({ a: weights, b: f.u, bias: p.o.b }) as Tensor2D; // [Tq, D]
}

/** Root mean square of all elements, as a scalar tensor. */
export function rms(x: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.mean(tf.square(x))) as tf.Scalar;
}
