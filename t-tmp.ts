import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModelFromDir } from './src/cli/node-weights';
import { countDispatches } from './src/model/webgpu/dispatch-count';
import { openAsBlob } from 'node:fs';
import { openCheckpoint } from './src/convert/checkpoint';
async function readArrays(file: string) { const ck = await openCheckpoint(await openAsBlob(file)); const m = new Map<string, {data: Float32Array}>(); for (const [k, t] of ck.tensors) m.set(k, { data: await t.read() }); return m; }
const dir = process.argv[2]; const pass = process.argv[3] !== 'generic';
const clips = await readArrays('tests/fixtures/clips.safetensors');
const model = await loadModelFromDir(dir, 'webgpu', { gpuKernels: pass });
for (const name of ['espeak_6s', 'espeak_6s', 'short_noise']) {
  const w = clips.get(name)!.data;
  const t0 = performance.now();
  const { result, dispatches } = await countDispatches(() => model.score(w));
  console.log(name, model.pass, (performance.now() - t0).toFixed(0), 'ms', result.pBonafide.toFixed(6), dispatches.total, JSON.stringify(dispatches.byProgram));
}
process.exit(0);
