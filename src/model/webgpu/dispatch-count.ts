import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

// Counts the compute dispatches the webgpu backend records while `fn` runs: every tfjs kernel and
// every custom program goes through runWebGPUProgram once per dispatch. For the bench and the
// tests (a dispatch budget per score); the model never calls it.

/** Dispatches per program (shader key without its shape suffix) and in total. */
export interface DispatchCount {
  total: number;
  byProgram: Record<string, number>;
}

export async function countDispatches<T>(fn: () => Promise<T>): Promise<{ result: T; dispatches: DispatchCount }> {
  if (tf.getBackend() !== 'webgpu') throw new Error('countDispatches needs the webgpu backend');
  const backend = tf.backend() as unknown as WebGPUBackend;
  const original = backend.runWebGPUProgram;
  const dispatches: DispatchCount = { total: 0, byProgram: {} };
  backend.runWebGPUProgram = function (this: WebGPUBackend, ...args: Parameters<WebGPUBackend['runWebGPUProgram']>) {
    const name =
      args[0].constructor.name === 'Object'
        ? args[0].shaderKey.split('_').slice(0, 2).join('_')
        : args[0].constructor.name;
    dispatches.total++;
    dispatches.byProgram[name] = (dispatches.byProgram[name] ?? 0) + 1;
    return original.apply(this, args);
  };
  try {
    return { result: await fn(), dispatches };
  } finally {
    backend.runWebGPUProgram = original;
  }
}
