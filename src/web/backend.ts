import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { type AdapterWords, isSoftwareAdapterInfo, withAllCoresForWasm } from '../model/tfjs-internals';
import { pickByProbe, probeBackend } from './probe';
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

/** How the backend is chosen: `force` (?backend=webgpu|wasm, the engine switch) picks one regardless. */
export interface BackendOptions {
  force?: 'wasm' | 'webgpu';
  /** Probe a software adapter as if it were a GPU (fault-injection builds: lets the E2E tests drive the probe). */
  probeSoftware?: boolean;
}

/**
 * WebGPU on a real GPU, WASM when WebGPU is missing, fails to start, or is a software emulation
 * (which would take tens of times longer than WASM on the same CPU). Where both engines are real, a
 * short timed probe on each (src/web/probe.ts) picks the faster one and says by how much.
 */
export async function startBackend({ force, probeSoftware = false }: BackendOptions = {}): Promise<BackendChoice> {
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
        else if (software && force !== 'webgpu' && !probeSoftware) {
          why = `WebGPU here is a software emulation of a GPU (${adapter.info?.description || adapter.info?.architecture || 'fallback adapter'}), slower than WASM on this CPU; ?backend=webgpu forces it`;
        } else if (await tf.setBackend('webgpu')) {
          await tf.ready();
          if (force === 'webgpu')
            return {
              name: 'webgpu',
              reason: `WebGPU was requested${software ? ' (a software adapter: correct but slow)' : ''}`,
            };
          const webgpu = await probeBackend();
          const wasm = await startWasm();
          const pick = pickByProbe({ webgpu, wasm: await probeBackend() });
          if (pick.name === 'wasm') return { name: 'wasm', reason: `${pick.reason}; using WASM, ${wasm}` };
          await tf.setBackend('webgpu');
          return pick;
        } else why = 'WebGPU did not start';
      } catch (e) {
        why = `WebGPU failed: ${(e as Error).message}`;
      }
    }
  }
  return { name: 'wasm', reason: `${why}; using WASM, ${await startWasm()}` };
}

/** Starts the WASM backend on every core; returns its threads in words. */
async function startWasm(): Promise<string> {
  const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
  setThreadsCount(cores);
  // the model runs in a worker, away from the page, so every logical core may work
  await withAllCoresForWasm(cores, async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('Neither WebGPU nor WASM could start in this browser.');
    await tf.ready();
  });
  const n = getThreadsCount();
  return n > 1
    ? `${n} threads`
    : globalThis.crossOriginIsolated
      ? '1 thread'
      : '1 thread (page not cross-origin isolated)';
}
