import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
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
  // tfjs-wasm defaults to half the cores (1 of 2 here), keeping the rest for the page; the model
  // runs in a worker, so every core can work (has no effect without cross-origin isolation)
  setThreadsCount(Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1));
  if (!(await tf.setBackend('wasm'))) throw new Error('Neither WebGPU nor WASM could start in this browser.');
  await tf.ready();
  const threads = globalThis.crossOriginIsolated ? 'multi-threaded' : 'single-threaded (page not cross-origin isolated)';
  return { name: 'wasm', reason: `${why}; using WASM, ${threads}` };
}
