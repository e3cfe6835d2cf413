import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { type AdapterWords, isSoftwareAdapterInfo, withAllCoresForWasm } from '../model/tfjs-internals';
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

/** A software adapter: a CPU emulating a GPU (SwiftShader, llvmpipe, lavapipe), slower than WASM on the same CPU. */
export function isSoftwareAdapter(adapter: { isFallbackAdapter?: boolean; info?: AdapterWords }): boolean {
  return !!adapter.isFallbackAdapter || isSoftwareAdapterInfo(adapter.info ?? {});
}

/**
 * WebGPU on a real GPU first; WASM when WebGPU is missing, fails to start, or is a software
 * emulation (which would take tens of times longer than WASM on the same CPU). `force` picks
 * either regardless (?backend=webgpu|wasm, or the page's engine switch).
 */
export async function startBackend(force?: 'wasm' | 'webgpu'): Promise<BackendChoice> {
  let why = force === 'wasm' ? 'WASM was requested' : '';
  if (force !== 'wasm') {
    if (!('gpu' in navigator)) why = 'this browser has no WebGPU';
    else {
      try {
        const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
        const software = adapter
          ? isSoftwareAdapter(adapter as unknown as Parameters<typeof isSoftwareAdapter>[0])
          : false;
        if (!adapter) why = 'WebGPU found no adapter';
        else if (software && force !== 'webgpu') {
          why = `WebGPU here is a software emulation of a GPU (${adapter.info?.description || adapter.info?.architecture || 'fallback adapter'}), slower than WASM on this CPU; ?backend=webgpu forces it`;
        } else if (await tf.setBackend('webgpu')) {
          await tf.ready();
          return {
            name: 'webgpu',
            reason:
              force === 'webgpu'
                ? `WebGPU was requested${software ? ' (a software adapter: correct but slow)' : ''}`
                : 'WebGPU is available on a GPU',
          };
        } else why = 'WebGPU did not start';
      } catch (e) {
        why = `WebGPU failed: ${(e as Error).message}`;
      }
    }
  }
  const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
  setThreadsCount(cores);
  // the model runs in a worker, away from the page, so every logical core may work
  await withAllCoresForWasm(cores, async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('Neither WebGPU nor WASM could start in this browser.');
    await tf.ready();
  });
  const n = getThreadsCount();
  const threads =
    n > 1 ? `${n} threads` : globalThis.crossOriginIsolated ? '1 thread' : '1 thread (page not cross-origin isolated)';
  return { name: 'wasm', reason: `${why}; using WASM, ${threads}` };
}
