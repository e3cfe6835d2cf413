import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { runWebGPUProgram, withMatMulActivation } from '../tfjs-internals';

// Custom WebGPU kernels for the RAT forward pass, run through tfjs-backend-webgpu's own program
// interface (WebGPUProgram + runWebGPUProgram), so tensors, memory and pipelines stay tfjs's. On a
// GPU the generic op-by-op path paid a dispatch per small op (LayerNorm alone was eight); each
// kernel here replaces a run of them with one dispatch. Each is a pure function of tensors, like
// the layers in ../layers.ts, and must be called inside tf.tidy by its caller.
//
// tfjs prepends the shader's preamble: `result` (the output), one read-only storage array per
// variable name, `uniforms` (shapes first, then the fields named in `uniforms` below, in order)
// and the private builtins localIndex / workgroupId. A kernel whose dispatchLayout names a `y`
// axis is entered through `main()`, one with only `x` through `main(index)` (flat).

type Uniform = { type: 'int32' | 'float32'; data: number[] };

/** Rows per dispatch column: workgroupsPerDimension is at least 65535 in WebGPU, so rows go on two axes. */
const ROWS_PER_Y = 32768;

/** Rows of a 2-D dispatch with one workgroup per row. */
function rowDispatch(rows: number): [number, number, number] {
  return [Math.min(rows, ROWS_PER_Y), Math.ceil(rows / ROWS_PER_Y), 1];
}

function program(
  key: string,
  outputShape: number[],
  variableNames: string[],
  dispatch: [number, number, number],
  uniforms: string,
  code: string,
  flat = false,
): WebGPUProgram {
  return {
    shaderKey: `rat_${key}`,
    outputShape,
    variableNames,
    dispatch,
    uniforms,
    dispatchLayout: flat ? { x: [0] } : { x: [], y: [0] },
    workgroupSize: [64, 1, 1],
    getUserCode: () => code,
  };
}

function run(p: WebGPUProgram, inputs: Tensor[], uniforms: Uniform[]): Tensor {
  return runWebGPUProgram(p, inputs, uniforms);
}

/** Exact GELU, x Phi(x), with erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), as tfjs's own Erf kernel. */
const GELU_WGSL = `
fn erfApprox(x : f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
fn gelu(x : f32) -> f32 { return 0.5 * x * (1.0 + erfApprox(x * 0.7071067811865476)); }
`;

/** GELU over a vector, the same approximation component-wise. */
const GELU4_WGSL = `
fn erfApprox4(x : vec4<f32>) -> vec4<f32> {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= vec4<f32>(0.0));
}
`;

/** A workgroup-wide sum over 64 threads; every thread gets the total. */
const REDUCE_WGSL = `
var<workgroup> red : array<f32, 64>;
fn workgroupSum(v : f32) -> f32 {
  red[localIndex] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (localIndex < s) { red[localIndex] = red[localIndex] + red[localIndex + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
`;

export type RowNormMode = 'norm' | 'norm-gelu' | 'stats';

/**
 * LayerNorm over the last axis of x [R, D] after adding a carried bias c [D] (optional):
 * 'norm' gives [R, D], 'norm-gelu' the same through GELU, 'stats' [R, 2] of (mean, 1/std) for
 * columnPool. One workgroup per row, mean then centred variance (as PyTorch, biased).
 */
export function rowNorm(
  x: Tensor2D,
  g: Tensor1D | null,
  b: Tensor1D | null,
  c: Tensor1D | null,
  eps: number,
  mode: RowNormMode = 'norm',
): Tensor2D {
  const [rows, d] = x.shape;
  const stats = mode === 'stats';
  const names = ['x', ...(stats ? [] : ['g', 'b']), ...(c ? ['c'] : [])];
  const inputs = [x, ...(stats ? [] : [g!, b!]), ...(c ? [c] : [])];
  const value = (i: string) => (c ? `x[base + ${i}] + c[${i}]` : `x[base + ${i}]`);
  const code = `
${GELU_WGSL}
${REDUCE_WGSL}
fn main() {
  let row = i32(workgroupId.y) * ${ROWS_PER_Y} + i32(workgroupId.x);
  let base = min(row, uniforms.rows - 1) * ${d};
  var s = 0.0;
  for (var i = i32(localIndex); i < ${d}; i += 64) { s += ${value('i')}; }
  let mean = workgroupSum(s) / ${d}.0;
  var v = 0.0;
  for (var i = i32(localIndex); i < ${d}; i += 64) { let e = ${value('i')} - mean; v += e * e; }
  let rstd = inverseSqrt(workgroupSum(v) / ${d}.0 + uniforms.eps);
  if (row < uniforms.rows) {
    ${
      stats
        ? `if (localIndex == 0u) { result[row * 2] = mean; result[row * 2 + 1] = rstd; }`
        : `for (var i = i32(localIndex); i < ${d}; i += 64) {
      let y = (${value('i')} - mean) * rstd * g[i] + b[i];
      result[base + i] = ${mode === 'norm-gelu' ? 'gelu(y)' : 'y'};
    }`
    }
  }
}`;
  const p = program(
    `rownorm_${mode}_${d}_${c ? 'c' : ''}`,
    stats ? [rows, 2] : [rows, d],
    names,
    rowDispatch(rows),
    'rows : i32, eps : f32,',
    code,
  );
  return run(p, inputs, [
    { type: 'int32', data: [rows] },
    { type: 'float32', data: [eps] },
  ]) as Tensor2D;
}

/**
 * acc + sum over rows of LayerNorm(s + c) (g, b), given rowNorm(s, c, 'stats'): the pooled sum of
 * one layer's normalised features, [D], without writing the normalised [R, D] to memory.
 */
export function columnPool(
  s: Tensor2D,
  stats: Tensor2D,
  c: Tensor1D,
  g: Tensor1D,
  b: Tensor1D,
  acc: Tensor1D,
): Tensor1D {
  const [rows, d] = s.shape;
  const code = `
fn main(index : i32) {
  if (index >= ${d}) { return; }
  var a = 0.0;
  for (var r = 0; r < uniforms.rows; r++) { a += (s[r * ${d} + index] + c[index] - st[r * 2]) * st[r * 2 + 1]; }
  result[index] = acc[index] + g[index] * a + f32(uniforms.rows) * b[index];
}`;
  const p = program(
    `colpool_${d}`,
    [d],
    ['s', 'st', 'c', 'g', 'b', 'acc'],
    [Math.ceil(d / 64), 1, 1],
    'rows : i32,',
    code,
    true,
  );
  return run(p, [s, stats, c, g, b, acc], [{ type: 'int32', data: [rows] }]) as Tensor1D;
}

let fusedGelu = true;

/**
 * GELU(x w + b) as one matmul with the activation replaced in tfjs's own matmul kernel; where that
 * cannot be done (another tfjs release) the product and a separate GELU dispatch.
 */
export function linearGelu(x: Tensor2D, w: Tensor2D, b: Tensor1D): Tensor2D {
  if (fusedGelu) {
    const y = withMatMulActivation(
      'gelu',
      (type, rank) => `${type === 'f32' ? GELU_WGSL : GELU4_WGSL}
fn activation(a : ${type}, coords : vec${rank}<i32>) -> ${type} {
  return 0.5 * a * (1.0 + ${type === 'f32' ? 'erfApprox' : 'erfApprox4'}(a * 0.7071067811865476));
}`,
      () => tf.fused.matMul({ a: x, b: w, bias: b, activation: 'relu' }) as Tensor2D,
    );
    if (y) return y;
    fusedGelu = false;
  }
  return geluGpu(tf.fused.matMul({ a: x, b: w, bias: b }) as Tensor2D);
}

/** GELU of every element. */
export function geluGpu<T extends Tensor>(x: T): T {
  const n = x.size;
  const code = `
${GELU_WGSL}
fn main(index : i32) { if (index < uniforms.n) { result[index] = gelu(x[index]); } }`;
  const p = program('gelu', x.shape, ['x'], [Math.ceil(n / 64), 1, 1], 'n : i32,', code, true);
  return run(p, [x], [{ type: 'int32', data: [n] }]) as T;
}

/** Where one operand of attention sits: columns [offset + h Dh, offset + (h + 1) Dh) of rows `stride` apart. */
export interface Operand {
  t: Tensor2D;
  offset: number;
}

/**
 * Multi-head attention softmax(q k^T / sqrt(Dh)) v for all heads in one dispatch, flash-style: a
 * workgroup takes 8 queries of one head and walks the keys in tiles, keeping a running maximum and
 * sum, so no [Tq, Tk] score matrix goes to memory. q, k and v are column ranges of [T, *] tensors
 * (one fused projection serves all three). Output [Tq, H Dh], heads side by side.
 */
export function attention(q: Operand, k: Operand, v: Operand, heads: number, headDim: number): Tensor2D {
  const tq = q.t.shape[0];
  const tk = k.t.shape[0];
  const dh = headDim;
  const lanes = 8;
  const qb = 64 / lanes;
  const dpl = Math.ceil(dh / lanes);
  const kt = Math.max(1, Math.min(32, Math.floor(1024 / dh)));
  const code = `
var<workgroup> qs : array<f32, ${qb * dh}>;
var<workgroup> ks : array<f32, ${kt * dh}>;
var<workgroup> vs : array<f32, ${kt * dh}>;
var<workgroup> ss : array<f32, ${qb * kt}>;
fn main() {
  let tid = i32(localIndex);
  let r = tid / ${lanes};
  let lane = tid % ${lanes};
  let h = i32(workgroupId.y);
  let q0 = i32(workgroupId.x) * ${qb};
  for (var i = tid; i < ${qb * dh}; i += 64) {
    let row = min(q0 + i / ${dh}, uniforms.tq - 1);
    qs[i] = q[row * uniforms.qStride + uniforms.qOff + h * ${dh} + i % ${dh}] * uniforms.scale;
  }
  var o : array<f32, ${dpl}>;
  for (var j = 0; j < ${dpl}; j++) { o[j] = 0.0; }
  var m = -3.0e38;
  var l = 0.0;
  for (var k0 = 0; k0 < uniforms.tk; k0 += ${kt}) {
    workgroupBarrier();
    for (var i = tid; i < ${kt * dh}; i += 64) {
      let key = min(k0 + i / ${dh}, uniforms.tk - 1);
      let col = h * ${dh} + i % ${dh};
      ks[i] = k[key * uniforms.kStride + uniforms.kOff + col];
      vs[i] = v[key * uniforms.vStride + uniforms.vOff + col];
    }
    workgroupBarrier();
    for (var i = tid; i < ${qb * kt}; i += 64) {
      let rr = i / ${kt};
      let j = i % ${kt};
      var s = 0.0;
      for (var d = 0; d < ${dh}; d++) { s += qs[rr * ${dh} + d] * ks[j * ${dh} + d]; }
      ss[i] = select(-3.0e38, s, k0 + j < uniforms.tk);
    }
    workgroupBarrier();
    var mNew = m;
    for (var j = 0; j < ${kt}; j++) { mNew = max(mNew, ss[r * ${kt} + j]); }
    let alpha = exp(m - mNew);
    l = l * alpha;
    for (var dd = 0; dd < ${dpl}; dd++) { o[dd] = o[dd] * alpha; }
    for (var j = 0; j < ${kt}; j++) {
      let p = exp(ss[r * ${kt} + j] - mNew);
      l += p;
      for (var dd = 0; dd < ${dpl}; dd++) {
        let d = dd * ${lanes} + lane;
        if (d < ${dh}) { o[dd] += p * vs[j * ${dh} + d]; }
      }
    }
    m = mNew;
  }
  let row = q0 + r;
  if (row < uniforms.tq) {
    for (var dd = 0; dd < ${dpl}; dd++) {
      let d = dd * ${lanes} + lane;
      if (d < ${dh}) { result[row * ${heads * dh} + h * ${dh} + d] = o[dd] / l; }
    }
  }
}`;
  const p = program(
    `attn_${heads}_${dh}`,
    [tq, heads * dh],
    ['q', 'k', 'v'],
    [Math.ceil(tq / qb), heads, 1],
    'tq : i32, tk : i32, qStride : i32, qOff : i32, kStride : i32, kOff : i32, vStride : i32, vOff : i32, scale : f32,',
    code,
  );
  const int = (n: number): Uniform => ({ type: 'int32', data: [n] });
  return run(
    p,
    [q.t, k.t, v.t],
    [
      int(tq),
      int(tk),
      int(q.t.shape[1]),
      int(q.offset),
      int(k.t.shape[1]),
      int(k.offset),
      int(v.t.shape[1]),
      int(v.offset),
      { type: 'float32', data: [1 / Math.sqrt(dh)] },
    ],
  ) as Tensor2D;
}

/**
 * x + GELU(grouped_conv1d(x) + b), the positional convolution with its residual, in one dispatch.
 * x [T, D], w [G, K, Dg, Dg] (group, tap, in, out), zero padding K/2 on both sides and the first T
 * outputs kept (PyTorch's Conv1d(padding=K//2) then dropping the extra frame of an even kernel).
 * A workgroup computes 16 frames x 64 output channels of one group; input frames are staged in
 * workgroup memory a block of taps and channels at a time.
 */
export function positionalConvResidual(x: Tensor2D, w: Tensor4D, b: Tensor1D): Tensor2D {
  const [t, d] = x.shape;
  const [groups, kernel, dg] = w.shape;
  const tt = 16;
  const kc = Math.min(kernel, 32);
  const ic = Math.min(dg, 64);
  const pad = Math.floor(kernel / 2);
  const oBlocks = Math.ceil(dg / 64);
  const code = `
${GELU_WGSL}
var<workgroup> xs : array<f32, ${(tt + kc - 1) * ic}>;
fn main() {
  let o = i32(workgroupId.y) % ${oBlocks} * 64 + i32(localIndex);
  let g = i32(workgroupId.y) / ${oBlocks};
  let t0 = i32(workgroupId.x) * ${tt};
  let oc = min(o, ${dg - 1});
  var acc : array<f32, ${tt}>;
  for (var j = 0; j < ${tt}; j++) { acc[j] = 0.0; }
  for (var k0 = 0; k0 < ${kernel}; k0 += ${kc}) {
    for (var i0 = 0; i0 < ${dg}; i0 += ${ic}) {
      workgroupBarrier();
      for (var e = i32(localIndex); e < ${(tt + kc - 1) * ic}; e += 64) {
        let src = t0 + k0 - ${pad} + e / ${ic};
        let ch = i0 + e % ${ic};
        let ok = src >= 0 && src < uniforms.t && ch < ${dg};
        xs[e] = select(0.0, x[clamp(src, 0, uniforms.t - 1) * ${d} + g * ${dg} + min(ch, ${dg - 1})], ok);
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${kc}; kk++) {
        if (k0 + kk < ${kernel}) {
          for (var ii = 0; ii < ${ic}; ii++) {
            if (i0 + ii < ${dg}) {
              let wv = w[((g * ${kernel} + k0 + kk) * ${dg} + i0 + ii) * ${dg} + oc];
              for (var j = 0; j < ${tt}; j++) { acc[j] += xs[(j + kk) * ${ic} + ii] * wv; }
            }
          }
        }
      }
    }
  }
  if (o < ${dg}) {
    let col = g * ${dg} + o;
    for (var j = 0; j < ${tt}; j++) {
      let row = t0 + j;
      if (row < uniforms.t) { result[row * ${d} + col] = x[row * ${d} + col] + gelu(acc[j] + b[col]); }
    }
  }
}`;
  const p = program(
    `posconv_${d}_${groups}_${kernel}`,
    [t, d],
    ['x', 'w', 'b'],
    [Math.ceil(t / tt), groups * oBlocks, 1],
    't : i32,',
    code,
  );
  return run(p, [x, w, b], [{ type: 'int32', data: [t] }]) as Tensor2D;
}
