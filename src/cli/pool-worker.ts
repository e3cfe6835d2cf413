import { parentPort, workerData } from 'node:worker_threads';
import type { PreparedReference } from '../model/rat';
import { type NodeBackend, loadModelFromDir } from './node-weights';
import type { PoolReply, PoolRequest } from './pool';

// One pool worker: its own tfjs wasm runtime and model copy, scoring the clips the pool sends it.

const { weights, backend } = workerData as { weights: string; backend: NodeBackend };
const port = parentPort!;

function errorReply(id: number, e: unknown): PoolReply {
  const err = e as Error;
  return { id, error: { name: err?.name ?? 'Error', message: err?.message ?? String(e) } };
}

try {
  const model = await loadModelFromDir(weights, backend);
  let ref: PreparedReference | null = null;
  port.on('message', async (m: PoolRequest) => {
    try {
      if (m.kind === 'reference') {
        ref?.dispose();
        ref = null;
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
      port.postMessage(errorReply(m.id, e));
    }
  });
  port.postMessage({ id: 0, ready: true } satisfies PoolReply);
} catch (e) {
  port.postMessage(errorReply(0, e));
}
