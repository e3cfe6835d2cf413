import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { runConvBlock, runLinear, runPositionalConv } from './layers';
import { wasmCanFreeValues, wasmFreeValues, wasmHoldsValues } from './tfjs-internals';
import type { RatConfig } from './config';
import type { RatWeights } from './weights';

// On tfjs-backend-wasm every fused matMul goes to XNNPACK, which packs the weight matrix (with its
// bias) into its own buffer the first time, caches that operator under (weight, bias, activation)
// and never reads the weight again. Keeping the original as well would double the resident memory
// of the full model. Here each linear layer is
// packed as soon as its shard is in, and the original's heap block is handed back to the
// allocator, so later shards and activations reuse it: peak memory is one copy plus one shard
// (tfjs-internals' wasmFreeValues; under another tfjs release the values stay, as the plain path).
// Conv filters get the same treatment once the weights are assembled (packConvsAndRelease).
//
// The tensor object stays (its shape, its id as the cache key), but its values are gone: only
// runLinear with the same bias and activation may use it afterwards. A different activation would
// miss the cache and pack freed memory, so rat.ts and RELU_LINEARS must agree; the parity tests
// run on wasm and would catch a disagreement.

/** Linear layers whose values stay: a prepared reference folds itself into them (foldReference). */
export const KEEP_VALUES = new Set(['rib.attn.q', 'rib.attn.o']);

/** Linear layers that run with a fused ReLU; every other linear runs without activation. */
export const RELU_LINEARS = new Set(['rib.up']);

/** Whether the current backend is tfjs-backend-wasm and may hand packed weights' values back (tfjs-internals). */
export function canReleasePacked(): boolean {
  return wasmCanFreeValues();
}

/**
 * Packs every linear layer whose weight (`<name>.w`) and bias (`<name>.b`) are both in `named` and
 * not yet packed (`done` holds their names), then frees the weight's values. Returns the bytes freed.
 */
export function packAndRelease(named: Record<string, Tensor>, done: Set<string>): number {
  let freed = 0;
  for (const key of Object.keys(named)) {
    if (!key.endsWith('.w')) continue;
    const name = key.slice(0, -2);
    const w = named[key];
    const b = named[`${name}.b`];
    if (done.has(name) || KEEP_VALUES.has(name) || !b || w.rank !== 2 || b.rank !== 1 || b.shape[0] !== w.shape[1])
      continue;
    if (!wasmHoldsValues(w)) continue;
    // one row through the layer creates and caches XNNPACK's operator with the packed copy
    tf.tidy(() =>
      runLinear(
        { w: w as Tensor2D, b: b as Tensor1D },
        tf.zeros([1, w.shape[0]]),
        RELU_LINEARS.has(name) ? 'relu' : 'linear',
      ).dataSync(),
    );
    freed += wasmFreeValues(w);
    done.add(name);
  }
  return freed;
}

/**
 * The conv filters likewise (the extractor's 7 and the 16 positional groups).
 * tfjs-wasm caches each convolution operator, with its transposed and packed filter, under the
 * filter, bias, kernel, strides and padding but not the input's length, so one short input through
 * each conv exactly as rat.ts calls it serves every later clip. Returns the bytes freed.
 */
export function packConvsAndRelease(w: RatWeights, c: RatConfig): number {
  tf.tidy(() => {
    w.conv.forEach((p, i) => {
      const [k, cin] = p.w.shape;
      runConvBlock(p, tf.zeros([1, k, cin]), c.convLayers[i][2], c.eps).dataSync(); // [1, 1, C]
    });
    runPositionalConv(w.pos.filters, w.pos.b, tf.zeros([1, c.embedDim])).dataSync(); // [1, D]
  });
  return [...w.conv.map((p) => p.w), ...w.pos.filters].reduce((n, t) => n + wasmFreeValues(t), 0);
}
