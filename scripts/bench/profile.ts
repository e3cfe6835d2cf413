// Which tfjs kernels take a full-size clip's time on the Node wasm backend, with the matrix
// products' achieved GFLOP/s: the profile behind the benchmark's notes on what bounds each row.
//
//   npx tsx scripts/bench/profile.ts <weights dir> [seconds=4] [zero|audio]
//
// Kernel times come from tf.profile (wall time per kernel, so a busy machine inflates them all).

import * as tf from '@tensorflow/tfjs-core';
import { loadModelFromDir } from '../../src/cli/node-weights';

const [dir, secArg, refArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: profile.ts <weights dir> [seconds] [zero|audio]');
const secs = Number(secArg ?? 4);
const mb = (b: number) => (b / 2 ** 20).toFixed(0);
const wave = new Float32Array(secs * 16000).map((_, i) => Math.sin(i * 0.01) * 0.3 + Math.sin(i * 0.37) * 0.1);
let t = performance.now();
const model = await loadModelFromDir(dir, 'wasm');
console.log(`load + warm-up ${((performance.now() - t) / 1000).toFixed(1)} s, RSS ${mb(process.memoryUsage().rss)} MB`);
const ref = refArg === 'audio' ? await model.prepareReference(wave.slice(0, 3 * 16000)) : null;
t = performance.now();
await model.score(wave, { reference: ref });
console.log(`${secs} s clip, ${ref ? 'audio' : 'zero'} reference: ${(performance.now() - t).toFixed(0)} ms unprofiled`);
const p = await tf.profile(async () => { await model.score(wave, { reference: ref }); return tf.scalar(0); });
const by = new Map<string, { ms: number; n: number; flops: number }>();
for (const k of p.kernels) {
  if (k.name.endsWith('__op')) continue; // op wrappers repeat their kernels' time
  const e = by.get(k.name) ?? { ms: 0, n: 0, flops: 0 };
  e.ms += k.kernelTimeMs as number;
  e.n++;
  if (/MatMul/.test(k.name)) {
    const a = k.inputShapes[0];
    const out = k.outputShapes[0];
    e.flops += 2 * out.reduce((x, y) => x * y, 1) * a[a.length - 1];
  }
  by.set(k.name, e);
}
const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
console.log(`\nkernel                 total ms      %  calls  GFLOP/s`);
for (const [name, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16)) {
  console.log(`${name.padEnd(22)} ${e.ms.toFixed(0).padStart(8)} ${(100 * e.ms / total).toFixed(1).padStart(6)} ${String(e.n).padStart(6)}  ${e.flops ? (e.flops / e.ms / 1e6).toFixed(1) : ''}`);
}
console.log(`all kernels ${total.toFixed(0)} ms`);
ref?.dispose();
model.dispose();
