import { parentPort, workerData } from 'node:worker_threads';
import { OutOfMemoryError, needsRestart } from '../model/out-of-memory';
import type { PreparedReference } from '../model/rat';
import { type NodeBackend, loadModelFromDir, memoryGuardFromEnv, reloadAfterTrap } from './node-weights';
import type { PoolReply, PoolRequest } from './pool';
import { wireError } from '../worker/errors';

// One pool worker: its own tfjs wasm runtime and model copy, scoring the clips the pool sends it.

const { weights, backend } = workerData as { weights: string; backend: NodeBackend };
const port = parentPort!;
memoryGuardFromEnv();

function errorReply(id: number, e: unknown): PoolReply {
  const oom = e instanceof OutOfMemoryError ? { seconds: e.seconds, detail: e.detail, refused: e.refused } : undefined;
  return { id, error: { ...wireError(e), oom } };
}

try {
  let model = await loadModelFromDir(weights, backend);
  let ref: PreparedReference | null = null;
  let refWave: Float32Array | null = null;
  port.on('message', async (m: PoolRequest) => {
    try {
      if (m.kind === 'reference') {
        ref?.dispose();
        ref = null;
        refWave = m.wave;
        if (m.wave) ref = await model.prepareReference(m.wave);
        port.postMessage({ id: m.id } satisfies PoolReply);
      } else if (m.kind === 'score') {
        const score = await model.score(m.wave, { reference: ref, diagnostics: m.diagnostics });
        port.postMessage({ id: m.id, score } satisfies PoolReply);
      } else {
        ref?.dispose();
        model.dispose();
        port.postMessage({ id: m.id } satisfies PoolReply);
        port.close();
      }
    } catch (e) {
      // a trapped WASM module fails every later call: a fresh one before answering, so the next clip finds it
      if (needsRestart(e)) ({ model, ref } = await reloadAfterTrap(backend, weights, refWave));
      port.postMessage(errorReply(m.id, e));
    }
  });
  port.postMessage({ id: 0, ready: true } satisfies PoolReply);
} catch (e) {
  port.postMessage(errorReply(0, e));
}
