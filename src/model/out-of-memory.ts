import * as tf from '@tensorflow/tfjs-core';

// Running out of memory is not an ordinary error: attention grows with the square of the clip's
// length, and when tfjs-wasm's 4 GB heap overflows the module traps ("memory access out of
// bounds", "Aborted(...)") and every later call on that backend fails too. So the error is
// recognised, reported with what to change, and the backend is replaced before anything else runs.

/** A clip needed more memory than the engine has; the engine must be restarted before the next clip. */
export class OutOfMemoryError extends Error {
  constructor(
    /** Seconds of audio in the pass that failed. */
    readonly seconds: number,
    /** The whole file in one pass, or one window of it. */
    readonly pass: 'single' | 'window',
    cause: unknown,
  ) {
    super(`ran out of memory scoring ${seconds.toFixed(1)} s of audio in one pass (${(cause as Error)?.message ?? String(cause)})`);
    this.name = 'OutOfMemoryError';
  }
}

const OOM_MESSAGE = /out of memory|memory access out of bounds|cannot enlarge memory|array buffer allocation failed|invalid (typed )?array length|Aborted\(|allocation failed|OOM/i;

/** Whether `e` says the engine ran out of memory (WASM trap, failed allocation, GPU out-of-memory). */
export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof OutOfMemoryError) return true;
  const err = e as Error | undefined;
  if (!err || typeof err !== 'object') return false;
  if (err.name === 'OutOfMemoryError' || err.name === 'GPUOutOfMemoryError') return true;
  const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  return (trap || err instanceof RangeError || err.name === 'RuntimeError' || err.name === 'Error') && OOM_MESSAGE.test(err.message ?? '');
}

/**
 * Throws away every tfjs backend instance, trapped ones included, and starts `name` afresh (a new
 * WASM module with an empty heap). Tensors of the old backends are dropped, not disposed: their
 * memory went with the old module, and freeing into a trapped module traps again. Models loaded
 * before must be loaded again.
 */
export async function restartBackend(name: string): Promise<void> {
  const engine = tf.engine() as unknown as { registry: Record<string, { dispose(): void; disposeData?(): boolean }> };
  for (const b of Object.values(engine.registry)) {
    b.dispose = () => {};
    b.disposeData = () => true;
  }
  tf.engine().reset();
  if (!(await tf.setBackend(name))) throw new Error(`The tfjs ${name} backend could not be restarted.`);
  await tf.ready();
}
