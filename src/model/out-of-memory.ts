import * as tf from '@tensorflow/tfjs-core';
import { resetBackendRegistry, webgpuDevice } from './tfjs-internals';

// Running out of memory is not an ordinary error: attention grows with the square of the clip's
// length, and when tfjs-wasm's 4 GB heap overflows the module traps ("memory access out of
// bounds", "Aborted(...)") and every later call on that backend fails too; with threads, a trap in
// a pool thread can leave the caller waiting for ever. So a pass that cannot fit is refused before
// it starts, and a trap that happens anyway is recognised and the backend replaced.

/** A clip needed more memory than the engine has. */
export class OutOfMemoryError extends Error {
  constructor(
    /** Seconds of audio in the pass that failed or was refused. */
    readonly seconds: number,
    /** What ran out (the engine's error), or why the pass was refused before it started. */
    readonly detail: string,
    /** True when the pass was refused before it ran: the engine is fine and needs no restart. */
    readonly refused = false,
  ) {
    super(`ran out of memory scoring ${seconds.toFixed(1)} s of audio in one pass (${detail})`);
    this.name = 'OutOfMemoryError';
  }
}

/** What tfjs-wasm can address (wasm32: 4 GiB), the bound for every backend's working set here. */
const HEAP_LIMIT = 2 ** 32;
let guard = true;

/** Turns the estimate below off, so a test can drive a pass into the real limit (default on). */
export function setMemoryGuard(on: boolean): void {
  guard = on;
}

/**
 * Refuses, before it starts, a pass over `frames` frames that cannot fit: the largest working set is
 * one attention head's scores and their softmax (2 T^2 floats) next to a few [T, FFN] activations,
 * beside the weights already held. Cheaper than a trap: nothing is lost and no restart is needed.
 * WebGPU also bounds each buffer (maxStorageBufferBindingSize), which the T^2 matrix must fit.
 */
export function checkPassFits(frames: number, ffnDim: number, seconds: number): void {
  if (!guard) return;
  const need = 8 * frames * frames + 24 * frames * ffnDim;
  const free = HEAP_LIMIT - tf.memory().numBytes;
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  if (need > 0.75 * free) {
    throw new OutOfMemoryError(
      seconds,
      `it would need about ${gb(need)} of working memory; the ${tf.getBackend()} engine has about ${gb(free)} beside the weights`,
      true,
    );
  }
  const maxBuffer = webgpuDevice()?.limits.maxStorageBufferBindingSize;
  if (maxBuffer && 4 * frames * frames > maxBuffer) {
    throw new OutOfMemoryError(
      seconds,
      `one attention matrix would take ${gb(4 * frames * frames)}, more than this GPU's largest buffer (${gb(maxBuffer)})`,
      true,
    );
  }
}

// A failed allocation inside tfjs-wasm returns NULL, and what traps next depends on the heap's
// layout: a write out of bounds, or a call through a garbage function pointer (seen on the demo
// weights once the conv stack's packing moved the heap's blocks).
const OOM_MESSAGE =
  /out of memory|memory access out of bounds|table index is out of bounds|null function|cannot enlarge memory|allocation failed|invalid (typed )?array length|Aborted\(|\bOOM\b/i;

/** Whether `e` says the engine ran out of memory (WASM trap, failed allocation, GPU out-of-memory). */
export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof OutOfMemoryError) return true;
  const err = e as Error | undefined;
  if (!err || typeof err !== 'object') return false;
  if (err.name === 'OutOfMemoryError' || err.name === 'GPUOutOfMemoryError') return true;
  const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  return (
    (trap || err instanceof RangeError || err.name === 'RuntimeError' || err.name === 'Error') &&
    OOM_MESSAGE.test(err.message ?? '')
  );
}

/** Whether an error left the engine unusable: out of memory during a pass (a pass refused before it ran touched nothing). */
export function needsRestart(e: unknown): boolean {
  return isOutOfMemory(e) && !(e instanceof OutOfMemoryError && e.refused);
}

/**
 * Throws away every tfjs backend instance, trapped ones included, and starts `name` afresh (a new
 * WASM module with an empty heap). Tensors of the old backends are dropped, not disposed: their
 * memory went with the old module, and freeing into a trapped module traps again. Models loaded
 * before must be loaded again.
 */
export async function restartBackend(name: string): Promise<void> {
  resetBackendRegistry();
  if (!(await tf.setBackend(name))) throw new Error(`The tfjs ${name} backend could not be restarted.`);
  await tf.ready();
}
