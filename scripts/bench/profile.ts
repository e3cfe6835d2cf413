// Which tfjs kernels take a full-size clip's time, with the matrix products' achieved GFLOP/s: the
// profile behind the benchmark's notes on what bounds each row.
//
//   npx tsx scripts/bench/profile.ts <weights dir> [seconds=4] [zero|audio]          Node, tfjs wasm
//   npx tsx scripts/bench/profile.ts <weights dir> [seconds=4] --browser [wasm|webgpu] Chromium, both reference modes
//
// Kernel times come from tf.profile (wall time per kernel on wasm, so a busy machine inflates them
// all). The browser profile reads its clips from the bench folder (npm run bench writes them).

import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { kernelTotals, renderKernels } from './report';

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { browser: { type: 'string' }, dir: { type: 'string' } },
  });
  const [dir, secArg, refArg] = positionals;
  if (!dir) throw new Error('usage: profile.ts <weights dir> [seconds] [zero|audio] | [seconds] --browser wasm|webgpu');
  const secs = Number(secArg ?? 4);
  if (!(secs > 0)) throw new Error(`seconds must be a positive number, got "${secArg}"`);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);

  if (values.browser) {
    const backend = values.browser as 'wasm' | 'webgpu';
    if (backend !== 'wasm' && backend !== 'webgpu')
      throw new Error(`--browser takes wasm or webgpu, not "${values.browser}"`);
    const { runBrowserProfile } = await import('./browser');
    const clipsDir = values.dir ?? path.join(os.tmpdir(), 'rat-full');
    const r = await runBrowserProfile({
      weights: dir,
      clipsDir,
      seconds: secs,
      backend,
      log: (s) => process.stderr.write(`[profile] ${s}\n`),
    });
    console.log(`Chromium ${r.backend} (${r.reason}), ${secs} s clip from ${clipsDir}/bench-clips.safetensors`);
    for (const mode of ['zero', 'audio']) {
      console.log(`\n${mode} reference: ${r.profile[mode].wall_ms.toFixed(0)} ms unprofiled`);
      console.log(renderKernels(r.profile[mode].kernels).join('\n'));
    }
  } else {
    const wave = new Float32Array(secs * 16000).map((_, i) => Math.sin(i * 0.01) * 0.3 + Math.sin(i * 0.37) * 0.1);
    const t = performance.now();
    const model = await loadModelFromDir(dir, 'wasm');
    console.log(
      `load + warm-up ${((performance.now() - t) / 1000).toFixed(1)} s, RSS ${mb(process.memoryUsage().rss)} MB`,
    );
    const ref = refArg === 'audio' ? await model.prepareReference(wave.slice(0, 3 * 16000)) : null;
    const t0 = performance.now();
    await model.score(wave, { reference: ref });
    console.log(
      `${secs} s clip, ${ref ? 'audio' : 'zero'} reference: ${(performance.now() - t0).toFixed(0)} ms unprofiled\n`,
    );
    const p = await tf.profile(async () => {
      await model.score(wave, { reference: ref });
      return tf.scalar(0);
    });
    console.log(renderKernels(kernelTotals(p.kernels)).join('\n'));
    ref?.dispose();
    model.dispose();
  }
}

await main().catch((e) => {
  console.error(`profile: ${(e as Error).message}`);
  process.exitCode = 1;
});
