import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { openCheckpoint } from '../../src/convert/checkpoint';
import { loadFromShards } from '../../src/model/load';
import { startBackend } from '../../src/web/backend';
import { urlShards } from '../../src/web/weights-loader';
import { kernelTotals, median } from './report';

// The browser side of `npm run bench`, driven by scripts/bench/browser.ts through playwright-core:
// loads the served full-size weights (network, or Cache Storage on a second visit) on the chosen
// backend and times the benchmark clips. Runs on the page's main thread; the app uses a worker,
// with the same model code.

/** repeats: timed runs per row after a warm-up run (0: one run, no warm-up, for emulated GPUs); profile: kernel totals of one score per reference mode at lengths[0]. */
interface BenchArgs {
  backend: 'wasm' | 'webgpu';
  lengths: number[];
  repeats: number;
  score: boolean;
  profile?: boolean;
}

const status = (s: string) => {
  document.getElementById('status')!.textContent = s;
};

/** The bench clips by name; asking for one the file lacks says which lengths it has and how to get others. */
async function clips(): Promise<(name: string) => Float32Array> {
  const blob = await (await fetch('/bench-clips.safetensors')).blob();
  const ckpt = await openCheckpoint(blob);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of ckpt.tensors) out.set(k, await t.read());
  return (name) => {
    const wave = out.get(name);
    if (wave) return wave;
    const have = [...out.keys()]
      .filter((k) => k.startsWith('test_'))
      .map((k) => `${k.slice(5)} s`)
      .join(', ');
    const fix = name.startsWith('test_')
      ? `: run npm run bench -- --seconds ${name.slice(5)} first, which writes it`
      : '; run npm run bench to write them again';
    throw new Error(`the bench clips have no ${name} (they hold ${have})${fix}`);
  };
}

function gpuMb(): number | null {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated?: number; numBytesInGPU?: number };
  const b = m.numBytesInGPUAllocated ?? m.numBytesInGPU;
  return b == null ? null : b / 2 ** 20;
}

async function run(args: BenchArgs) {
  const t0 = performance.now();
  const backend = await startBackend({ force: args.backend === 'wasm' ? 'wasm' : undefined });
  if (backend.name !== args.backend)
    throw new Error(`asked for ${args.backend}, got ${backend.name}: ${backend.reason}`);
  const data = await clips();
  const tLoad = performance.now();
  const stream = await urlShards('/bench-weights/', () => {});
  const model = await loadFromShards(stream.manifest, stream.totalBytes, stream.shards, { warmup: false });
  const loadMs = performance.now() - tLoad;
  const cached = stream.cachedBytes();
  const tFirst = performance.now();
  const first = await model.score(data(`test_${args.lengths[0]}`));
  const firstMs = performance.now() - tFirst;
  const out: Record<string, unknown> = {
    backend: backend.name,
    reason: backend.reason,
    threads: backend.name === 'wasm' ? getThreadsCount() : null,
    isolated: globalThis.crossOriginIsolated,
    load_ms: loadMs,
    load_phases: model.loadTimings,
    cached_bytes: cached,
    first_score_ms: firstMs,
    page_to_first_score_ms: performance.now() - t0,
    first_p: first.pBonafide,
    rows: {},
  };
  // one prepared reference for the timed rows and the profile: "seen before", as in the app
  const ref = args.score || args.profile ? await model.prepareReference(data('ref')) : null;
  if (args.score) {
    const rows: Record<string, unknown> = {};
    for (const s of args.lengths) {
      // the two modes alternate, so drift in the machine's speed falls on both alike
      const times = { zero: [] as number[], audio: [] as number[] };
      const p = { zero: NaN, audio: NaN };
      let tfMb = 0;
      for (let i = 0; i <= args.repeats; i++) {
        for (const mode of ['zero', 'audio'] as const) {
          status(`${backend.name}: ${s} s ${mode} run ${i}`);
          const t = performance.now();
          const sc = await model.score(data(`test_${s}`), { reference: mode === 'audio' ? ref : null });
          if (i > 0 || args.repeats === 0) times[mode].push(performance.now() - t);
          p[mode] = sc.pBonafide;
          tfMb = Math.max(tfMb, tf.memory().numBytes / 2 ** 20);
        }
      }
      for (const mode of ['zero', 'audio'] as const) {
        rows[`${s}/${mode}`] = {
          median_ms: median(times[mode]),
          times_ms: times[mode],
          p_bonafide: p[mode],
          tf_mb: tfMb,
          gpu_mb: gpuMb(),
        };
      }
    }
    out.rows = rows;
  }
  if (args.profile) {
    const wave = data(`test_${args.lengths[0]}`);
    const profiles: Record<string, unknown> = {};
    for (const mode of ['zero', 'audio'] as const) {
      const reference = mode === 'audio' ? ref : null;
      status(`${backend.name}: profiling ${mode}`);
      await model.score(wave, { reference }); // packs this mode's operators outside the profile
      const t = performance.now();
      await model.score(wave, { reference });
      const wallMs = performance.now() - t;
      const p = await tf.profile(async () => {
        await model.score(wave, { reference });
        return tf.scalar(0);
      });
      profiles[mode] = { wall_ms: wallMs, kernels: kernelTotals(p.kernels) };
    }
    out.profile = profiles;
  }
  ref?.dispose();
  model.dispose();
  status('done');
  return out;
}

(globalThis as unknown as { ratBench: typeof run }).ratBench = run;
status('ready');
