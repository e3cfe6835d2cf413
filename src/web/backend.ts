import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

export interface BackendChoice {
  name: 'webgpu' | 'wasm';
  /** Why this backend runs, in words for the page. */
  reason: string;
}

/** WebGPU first; WASM when WebGPU is missing or fails to start (or when `force` says so). */
export async function startBackend(force?: 'wasm'): Promise<BackendChoice> {
  let why = force === 'wasm' ? 'WASM was requested' : '';
  if (!force) {
    if (!('gpu' in navigator)) why = 'this browser has no WebGPU';
    else {
      try {
        if (await tf.setBackend('webgpu')) {
          await tf.ready();
          return { name: 'webgpu', reason: 'WebGPU is available' };
        }
        why = 'WebGPU did not start';
      } catch (e) {
        why = `WebGPU failed: ${(e as Error).message}`;
      }
    }
  }
  const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
  setThreadsCount(cores);
  const restore = reportDoubleCores(cores);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('Neither WebGPU nor WASM could start in this browser.');
    await tf.ready();
  } finally {
    restore();
  }
  const n = getThreadsCount();
  const threads = n > 1 ? `${n} threads` : globalThis.crossOriginIsolated ? '1 thread' : '1 thread (page not cross-origin isolated)';
  return { name: 'wasm', reason: `${why}; using WASM, ${threads}` };
}

/**
 * tfjs-backend-wasm caps its thread pool at half of navigator.hardwareConcurrency (it assumes two
 * hyper-threads per core), which leaves a 2-core machine on one thread whatever setThreadsCount
 * asks. The model runs in a worker, away from the page, so every logical core may work: the count
 * is doubled while the backend starts (its pool is sized then, once) and restored afterwards.
 */
function reportDoubleCores(cores: number): () => void {
  const nav = globalThis.navigator as Navigator | undefined;
  if (!nav || !globalThis.crossOriginIsolated) return () => {};
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => cores * 2 });
  } catch {
    return () => {};
  }
  return () => { delete (nav as unknown as Record<string, unknown>).hardwareConcurrency; };
}
