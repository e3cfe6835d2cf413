import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { runLinear } from './layers';

// On tfjs-backend-wasm every fused matMul goes to XNNPACK, which packs the weight matrix (with its
// bias) into its own buffer the first time, caches that operator under (weight, bias, activation)
// and never reads the weight again. Keeping the original as well doubled the resident memory of
// the full model (1.3 GB of float32 weights -> 2.6 GB, 3.3 GB peak). Here each linear layer is
// packed as soon as its shard is in, and the original's heap block is handed back to the
// allocator, so later shards and activations reuse it: peak memory is one copy plus one shard.
//
// The tensor object stays (its shape, its id as the cache key), but its values are gone: only
// runLinear with the same bias and activation may use it afterwards. A different activation would
// miss the cache and pack freed memory, so rat.ts and RELU_LINEARS must agree; the parity tests
// run on wasm and would catch a disagreement.

/** Linear layers whose values stay: a prepared reference folds itself into them (foldReference). */
export const KEEP_VALUES = new Set(['rib.attn.q', 'rib.attn.o']);

/** Linear layers that run with a fused ReLU; every other linear runs without activation. */
export const RELU_LINEARS = new Set(['rib.up']);

interface WasmTensorData { memoryOffset: number | null }
interface WasmBackendInternals {
  dataIdMap: { get(id: object): WasmTensorData | undefined };
  wasm: { _free(ptr: number): void };
}

/** Whether the current backend is tfjs-backend-wasm with the internals this module relies on. */
export function canReleasePacked(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const b = tf.backend() as unknown as Partial<WasmBackendInternals>;
  return typeof b.dataIdMap?.get === 'function' && typeof b.wasm?._free === 'function';
}

/**
 * Packs every linear layer whose weight (`<name>.w`) and bias (`<name>.b`) are both in `named` and
 * not yet packed, then frees the weight's values. Returns the names packed by this call.
 */
export function packAndRelease(named: Record<string, Tensor>, done: Set<string>): string[] {
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const packed: string[] = [];
  for (const key of Object.keys(named)) {
    if (!key.endsWith('.w')) continue;
    const name = key.slice(0, -2);
    const w = named[key];
    const b = named[`${name}.b`];
    if (done.has(name) || KEEP_VALUES.has(name) || !b || w.rank !== 2 || b.rank !== 1 || b.shape[0] !== w.shape[1]) continue;
    const data = backend.dataIdMap.get(w.dataId);
    if (!data || data.memoryOffset == null) continue;
    // one row through the layer creates and caches XNNPACK's operator with the packed copy
    tf.tidy(() => runLinear({ w: w as Tensor2D, b: b as Tensor1D }, tf.zeros([1, w.shape[0]]), RELU_LINEARS.has(name) ? 'relu' : 'linear').dataSync());
    backend.wasm._free(data.memoryOffset);
    data.memoryOffset = 0; // free(0) is a no-op when the tensor is disposed
    done.add(name);
    packed.push(name);
  }
  return packed;
}
