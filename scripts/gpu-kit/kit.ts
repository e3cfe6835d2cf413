// The GPU kit's Node side, bundled into kit.cjs by build.ts: the project's converter and model on
// tfjs WebGPU through a dawn.node that travels with the kit (see README.md).
//
//   node kit.cjs probe   --dawn <dawn.node>
//   node kit.cjs convert <checkpoint> <weights dir>
//   node kit.cjs webgpu  --dawn <dawn.node> --weights <dir> --clips <bench-clips.safetensors> --out <json>
//                        [--repeats 10] [--warmups 2] [--cases 4:zero,4:audio,12:zero] [--allow-software]

import { openAsBlob, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { convertFile } from '../convert-weights/convert-file';
import { openCheckpoint } from '../../src/convert/checkpoint';
import { type DawnModule, nodeAdapter, registerNodeWebGPU } from '../../src/cli/node-webgpu';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { countDispatches } from '../../src/model/webgpu/dispatch-count';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function startDawn(dawnPath: string): Promise<void> {
  const dawn = createRequire(__filename)(dawnPath) as DawnModule;
  await registerNodeWebGPU(dawn);
}

async function webgpu(o: Record<string, string | boolean | undefined>): Promise<void> {
  await startDawn(String(o.dawn));
  const clips = new Map<string, Float32Array>();
  const ckpt = await openCheckpoint(await openAsBlob(String(o.clips)));
  for (const [k, t] of ckpt.tensors) clips.set(k, await t.read());
  const t0 = performance.now();
  const model = await loadModelFromDir(String(o.weights), 'webgpu'); // the product's load: reads, uploads, warms up
  const loadMs = performance.now() - t0;
  const adapter = nodeAdapter();
  if (adapter?.software && !o['allow-software'])
    throw new Error(
      `the adapter is a software one (${adapter.description}): timings would mean nothing (--allow-software to run anyway)`,
    );
  const cases = String(o.cases ?? '4:zero,4:audio,12:zero')
    .split(',')
    .map((c) => c.split(':') as [string, 'zero' | 'audio']);
  const repeats = Number(o.repeats ?? 10);
  const warmups = Number(o.warmups ?? 2);
  let t = performance.now();
  const first = await model.score(clips.get(`test_${cases[0][0]}`)!);
  const firstMs = performance.now() - t;
  t = performance.now();
  const ref = await model.prepareReference(clips.get('ref')!);
  const prepareMs = performance.now() - t;
  const rows: Record<string, unknown> = {};
  for (const [s, mode] of cases) {
    const wave = clips.get(`test_${s}`);
    if (!wave) throw new Error(`no clip test_${s} in ${o.clips}`);
    const reference = mode === 'audio' ? ref : null;
    for (let i = 0; i < warmups; i++) await model.score(wave, { reference });
    const times: number[] = [];
    let p = NaN;
    for (let i = 0; i < repeats; i++) {
      const t1 = performance.now();
      p = (await model.score(wave, { reference })).pBonafide;
      times.push(performance.now() - t1);
    }
    const { dispatches } = await countDispatches(() => model.score(wave, { reference }));
    rows[`${s}/${mode}`] = {
      median_ms: median(times),
      times_ms: times,
      p_bonafide: p,
      dispatches: dispatches.total,
      by_program: dispatches.byProgram,
    };
    console.error(
      `[webgpu] ${s} s ${mode}: ${median(times).toFixed(1)} ms, ${dispatches.total} dispatches, P ${p.toFixed(6)}`,
    );
  }
  const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesInGPUAllocated?: number };
  const weightBytes = model.manifest.weightsManifest
    .flatMap((g) => g.weights)
    .reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  ref.dispose();
  writeFileSync(
    String(o.out),
    JSON.stringify(
      {
        adapter,
        pass: model.pass,
        load_ms: loadMs,
        first_score_ms: firstMs,
        first_p: first.pBonafide,
        prepare_ref_ms: prepareMs,
        rows,
        tf_gpu_mb: (mem.numBytesInGPU ?? 0) / 2 ** 20,
        tf_gpu_allocated_mb: (mem.numBytesInGPUAllocated ?? 0) / 2 ** 20,
        weights_mb: weightBytes / 2 ** 20,
        tfjs: tf.version_core,
      },
      null,
      1,
    ),
  );
  model.dispose();
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      dawn: { type: 'string' },
      weights: { type: 'string' },
      clips: { type: 'string' },
      out: { type: 'string' },
      repeats: { type: 'string' },
      warmups: { type: 'string' },
      cases: { type: 'string' },
      'allow-software': { type: 'boolean' },
    },
  });
  if (cmd === 'probe') {
    await startDawn(String(values.dawn));
    console.log(JSON.stringify(nodeAdapter()));
  } else if (cmd === 'convert') {
    const [ckpt, out] = positionals;
    const t = performance.now();
    await convertFile(ckpt, { out, force: true, label: 'random-init RAT (GPU kit)' });
    console.error(`[convert] ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else if (cmd === 'webgpu') await webgpu(values);
  else throw new Error(`unknown command "${cmd}": probe, convert or webgpu`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`kit: ${e.message}`);
    process.exit(1);
  },
);
