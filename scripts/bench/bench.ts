// `npm run bench`: the full-size RAT (XLS-R 300M, random init from the PyTorch reference) timed on
// every runtime in one run, PyTorch first, printed as one table and written as JSON.
//
//   npm run bench [-- --dir <folder>] [--quick] [--rows torch,node,batch,chromium-wasm(,webgpu,node-webgpu)]
//                 [--repeats 3] [--batch 50] [--workers 2] [--seconds 4,12] [--out results.json]
//
// Every measurement runs in its own child process (clean memory figures): PyTorch
// (scripts/bench/torch_bench.py), Node on tfjs wasm, the Node worker pool, and Chromium
// (scripts/bench/browser.ts). Progress goes to stderr, the table to stdout.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { convertFile } from '../convert-weights/convert-file';
import { openCheckpoint } from '../../src/convert/checkpoint';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { nodeAdapter } from '../../src/cli/node-webgpu';
import { countDispatches } from '../../src/model/webgpu/dispatch-count';
import { ScoringPool } from '../../src/cli/pool';
import type { RatScore } from '../../src/model/rat';
import { type TimedRow, formatMb, formatMs, median, renderMarkdown, renderTable, timedTable } from './report';

const here = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(here, '../..');
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const ALL_ROWS = ['torch', 'node', 'batch', 'chromium-wasm', 'webgpu', 'node-webgpu'] as const;
type RowKind = (typeof ALL_ROWS)[number];
/** Without --rows: all but the WebGPU rows, which on a machine without a GPU (SwiftShader) take many minutes per pass of the full model. */
const DEFAULT_ROWS: RowKind[] = ['torch', 'node', 'batch', 'chromium-wasm'];

const NODE_WASM = 'Node CLI, tfjs wasm (1 thread)';
const NODE_WEBGPU = 'Node WebGPU (Dawn)';

/** The backend column of a Chromium row. */
const browserRowName = (kind: 'chromium-wasm' | 'webgpu', b: { threads?: number }) =>
  kind === 'webgpu' ? 'Chromium WebGPU (SwiftShader)' : `Chromium WASM (${b.threads} threads)`;

/** Peak RSS of this process since the last reset, MB (VmHWM; Linux). */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Resets the peak-RSS mark so a later peak covers only what follows (Linux; no-op elsewhere). */
export function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    /* not Linux */
  }
}

async function readClips(dir: string): Promise<Map<string, Float32Array>> {
  const ckpt = await openCheckpoint(await openAsBlob(path.join(dir, 'bench-clips.safetensors')));
  const out = new Map<string, Float32Array>();
  for (const [k, t] of ckpt.tensors) out.set(k, await t.read());
  return out;
}

/** Clip i of the batch: the first test clip rotated by 1000 i samples (as torch.roll in torch_bench.py). */
export function rolled(wave: Float32Array, shift: number): Float32Array {
  const n = wave.length;
  const s = ((shift % n) + n) % n;
  const out = new Float32Array(n);
  out.set(wave.subarray(n - s), 0);
  out.set(wave.subarray(0, n - s), s);
  return out;
}

/** Child: load from files, then time each clip length x reference mode. */
async function nodeChild(weights: string, dir: string, lengths: number[], repeats: number, backend: 'wasm' | 'webgpu') {
  const clips = await readClips(dir);
  resetPeakRss();
  let t = performance.now();
  const model = await loadModelFromDir(weights, backend, { warmup: false });
  const loadMs = performance.now() - t;
  t = performance.now();
  await model.score(new Float32Array(16000)); // what loadRatModel's warm-up does
  const warmupMs = performance.now() - t;
  const loadPeak = peakRssMb();
  t = performance.now();
  const ref = await model.prepareReference(clips.get('ref')!);
  const prepareMs = performance.now() - t;
  const tensorsBefore = tf.memory().numTensors;
  const rows: Record<string, unknown> = {};
  for (const s of lengths) {
    const wave = clips.get(`test_${s}`)!;
    // the two modes alternate, so drift in the machine's speed falls on both alike
    const times: Record<'zero' | 'audio', number[]> = { zero: [], audio: [] };
    const last: Partial<Record<'zero' | 'audio', RatScore>> = {};
    for (let i = 0; i <= repeats; i++) {
      for (const mode of ['zero', 'audio'] as const) {
        const t0 = performance.now();
        last[mode] = await model.score(wave, { reference: mode === 'audio' ? ref : null });
        if (i > 0) times[mode].push(performance.now() - t0); // run 0 is the warm-up for this length
      }
    }
    for (const mode of ['zero', 'audio'] as const) {
      rows[`${s}/${mode}`] = {
        median_ms: median(times[mode]),
        times_ms: times[mode],
        p_bonafide: last[mode]!.pBonafide,
        logits: last[mode]!.logits,
        peak_rss_mb: peakRssMb(),
      };
      log(`node ${s} s ${mode}: ${formatMs(median(times[mode]))}`);
    }
  }
  const leak = tf.memory().numTensors - tensorsBefore;
  let gpu: Record<string, unknown> | undefined;
  if (backend === 'webgpu') {
    // one more score per mode, counted: every kernel and custom program is one dispatch
    const wave = clips.get(`test_${lengths[0]}`)!;
    const zero = await countDispatches(() => model.score(wave));
    const audio = await countDispatches(() => model.score(wave, { reference: ref }));
    gpu = {
      adapter: nodeAdapter(),
      pass: model.pass,
      seconds: lengths[0],
      dispatches_zero: zero.dispatches.total,
      dispatches_audio: audio.dispatches.total,
      tf_gpu_mb: (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU! / 2 ** 20,
    };
  }
  ref.dispose();
  model.dispose();
  console.log(
    JSON.stringify({
      load_ms: loadMs,
      warmup_ms: warmupMs,
      load_peak_rss_mb: loadPeak,
      prepare_ref_ms: prepareMs,
      tensor_leak: leak,
      rows,
      peak_rss_mb: peakRssMb(),
      gpu,
    }),
  );
}

/** Child: the worker pool scoring `count` clips with one reference (prepared once per worker). */
async function batchChild(weights: string, dir: string, first: number, count: number, workers: number) {
  const clips = await readClips(dir);
  resetPeakRss();
  let t = performance.now();
  const pool = await ScoringPool.create({ weights, workers });
  const loadMs = performance.now() - t;
  await pool.setReference(clips.get('ref')!);
  const base = clips.get(`test_${first}`)!;
  await Promise.all(Array.from({ length: workers }, (_, i) => pool.score(rolled(base, -i)))); // warm-up per worker
  t = performance.now();
  const scores = await Promise.all(Array.from({ length: count }, (_, i) => pool.score(rolled(base, i * 1000))));
  const elapsed = (performance.now() - t) / 1000;
  await pool.close();
  console.log(
    JSON.stringify({
      workers,
      clips: count,
      load_ms: loadMs,
      elapsed_s: elapsed,
      clips_per_s: count / elapsed,
      p_first: scores[0].pBonafide,
      peak_rss_mb: peakRssMb(),
    }),
  );
}

function runChild(
  args: string[],
  extraEnv: Record<string, string | undefined> = {},
  command = process.execPath,
): Promise<Record<string, any>> {
  const full = command === process.execPath ? ['--import', 'tsx', path.join(here, 'bench.ts'), ...args] : args;
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...extraEnv };
    for (const [k, v] of Object.entries(extraEnv)) if (v === undefined) delete env[k];
    const child = spawn(command, full, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(
          new Error(`${path.basename(command)} ${full.slice(0, 4).join(' ')} exited with ${code}\n${out.slice(-2000)}`),
        );
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`no JSON from ${full.join(' ')}:\n${out.slice(-2000)}`));
      }
    });
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      quick: { type: 'boolean' },
      rows: { type: 'string' },
      repeats: { type: 'string' },
      batch: { type: 'string' },
      workers: { type: 'string' },
      seconds: { type: 'string' },
      out: { type: 'string' },
      'reuse-torch': { type: 'boolean' },
    },
  });
  const dir = values.dir ?? path.join(os.tmpdir(), 'rat-full');
  const quick = values.quick ?? false;
  const rows = new Set((values.rows ?? DEFAULT_ROWS.join(',')).split(',').map((s) => s.trim()) as RowKind[]);
  for (const r of rows)
    if (!ALL_ROWS.includes(r)) throw new Error(`unknown row "${r}"; choose from ${ALL_ROWS.join(', ')}`);
  const repeats = Number(values.repeats ?? (quick ? 1 : 3));
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(
      `--repeats must be a whole number of at least 1 (timed runs after the warm-up), got "${values.repeats}"`,
    );
  const batch = Number(values.batch ?? (quick ? 6 : 50));
  const workers = Number(values.workers ?? Math.max(1, Math.min(os.availableParallelism(), 2)));
  const lengths = (values.seconds ?? (quick ? '4' : '4,12')).split(',').map(Number);
  const outFile = values.out ?? path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  const result: Record<string, any> = {
    load_average_start: os.loadavg(),
    started: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    lengths,
    repeats,
  };

  // 1. checkpoint (PyTorch reference) and conversion
  if (!existsSync(path.join(dir, 'rat-full.pt')) || !existsSync(path.join(dir, 'rat-full.seed'))) {
    log('generating the full-size checkpoint with PyTorch (about 1.3 GB, a few minutes) ...');
    execFileSync(
      '/usr/bin/python3',
      [path.join(ROOT, 'scripts/reference/full_size.py'), '--dir', dir, '--repeats', '1'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const weights = path.join(dir, 'bench-weights');
  const ckpt = path.join(dir, 'rat-full.pt');
  const converted =
    existsSync(path.join(weights, 'model.json')) &&
    (await stat(path.join(weights, 'model.json'))).mtimeMs > (await stat(ckpt)).mtimeMs;
  if (!converted || !quick) {
    log('converting with the project converter ...');
    const t = performance.now();
    await convertFile(ckpt, { out: weights, force: true, label: 'random-init XLS-R 300M RAT (bench)' });
    result.convert_s = (performance.now() - t) / 1000;
  }
  const weightBytes = JSON.parse(await readFile(path.join(weights, 'model.json'), 'utf8'))
    .weightsManifest.flatMap((g: any) => g.weights)
    .reduce((n: number, w: any) => n + 4 * w.shape.reduce((a: number, b: number) => a * b, 1), 0);
  result.float32_weights_mb = weightBytes / 2 ** 20;

  // 2. PyTorch (always: the clips and the reference row come from it)
  const torchOut = path.join(dir, 'bench-torch.json');
  const reusable =
    values['reuse-torch'] &&
    existsSync(torchOut) &&
    existsSync(path.join(dir, 'bench-clips.safetensors')) &&
    lengths.every((s) => JSON.parse(readFileSync(torchOut, 'utf8')).rows[`${s}/zero`]);
  if (reusable) log(`PyTorch: reusing ${torchOut} (--reuse-torch; not measured in this run)`);
  else {
    log('PyTorch ...');
    // OpenBLAS picks its kernels from the CPU unless OPENBLAS_CORETYPE forces one; a forced Haswell
    // (AVX2) on an AVX-512 machine halves PyTorch's matrix speed, so the reference runs without it.
    await runChild(
      [
        path.join(here, 'torch_bench.py'),
        '--dir',
        dir,
        '--out',
        torchOut,
        '--repeats',
        String(repeats),
        '--batch',
        String(rows.has('batch') ? batch : 0),
        '--seconds',
        lengths.join(','),
      ],
      { OPENBLAS_CORETYPE: undefined },
      '/usr/bin/python3',
    );
  }
  const torch = JSON.parse(await readFile(torchOut, 'utf8'));
  result.torch = { ...torch, reused: Boolean(reusable) };
  const TORCH = `PyTorch ${torch.torch} CPU (${torch.threads} threads)`;
  const timed: TimedRow[] = [];
  for (const s of lengths)
    for (const mode of ['zero', 'audio'] as const) {
      const r = torch.rows[`${s}/${mode}`];
      timed.push({
        backend: TORCH,
        seconds: s,
        ref: mode,
        medianMs: r.median_ms,
        pBonafide: r.p_bonafide,
        memory: `RSS ${formatMb(torch.peak_rss_mb)}`,
      });
    }

  for (const [kind, backend, name] of [
    ['node', 'wasm', NODE_WASM],
    ['node-webgpu', 'webgpu', NODE_WEBGPU],
  ] as const) {
    if (!rows.has(kind)) continue;
    log(`Node, tfjs ${backend} ...`);
    try {
      const node = await runChild(['--node-child', weights, dir, lengths.join(','), String(repeats), backend]);
      result[kind] = node;
      for (const s of lengths)
        for (const mode of ['zero', 'audio'] as const) {
          const r = node.rows[`${s}/${mode}`];
          timed.push({
            backend: name,
            seconds: s,
            ref: mode,
            medianMs: r.median_ms,
            pBonafide: r.p_bonafide,
            memory: `RSS ${formatMb(r.peak_rss_mb)}${node.gpu ? `, GPU ${formatMb(node.gpu.tf_gpu_mb)}` : ''}`,
          });
        }
    } catch (e) {
      log(`Node ${backend} failed: ${(e as Error).message}`);
      result[kind] = { error: (e as Error).message };
    }
  }
  for (const kind of ['chromium-wasm', 'webgpu'] as const) {
    if (!rows.has(kind)) continue;
    log(`Chromium ${kind} ...`);
    try {
      const { runBrowserBench } = await import('./browser');
      // SwiftShader emulates the GPU on the CPU (minutes per pass of the full model): the first length,
      // one run per reference mode after the page's first score, no second visit; for correctness
      const gpu = kind === 'webgpu';
      const b = await runBrowserBench({
        weights,
        clipsDir: dir,
        lengths: gpu ? lengths.slice(0, 1) : lengths,
        repeats: gpu ? 0 : repeats,
        warmVisit: !gpu,
        backend: gpu ? 'webgpu' : 'wasm',
        log,
      });
      result[kind] = b;
      for (const s of lengths)
        for (const mode of ['zero', 'audio'] as const) {
          const r = b.rows[`${s}/${mode}`];
          if (!r) continue;
          timed.push({
            backend: browserRowName(kind, b),
            seconds: s,
            ref: mode,
            medianMs: r.median_ms,
            pBonafide: r.p_bonafide,
            memory: `tf ${formatMb(r.tf_mb)}${r.gpu_mb != null ? `, GPU ${formatMb(r.gpu_mb)}` : ''}`,
            note: kind === 'webgpu' ? 'correctness only: CPU-emulated GPU, one run' : undefined,
          });
        }
    } catch (e) {
      log(`Chromium ${kind} failed: ${(e as Error).message}`);
      result[kind] = { error: (e as Error).message };
    }
  }

  // 3. the table
  const table = timedTable(timed, TORCH);
  const extra: string[][] = [];
  const blank = (cells: string[]) => [...cells, ...Array(9 - cells.length).fill('')];
  if (result.convert_s != null)
    extra.push(blank(['convert checkpoint -> weights', '', '', `${result.convert_s.toFixed(1)} s`]));
  extra.push(
    blank([
      TORCH,
      'load',
      '',
      formatMs(torch.load_s * 1000),
      '',
      '',
      '',
      `RSS ${formatMb(torch.load_peak_rss_mb)}`,
      'torch.load + load_state_dict',
    ]),
  );
  for (const [kind, name] of [
    ['node', NODE_WASM],
    ['node-webgpu', NODE_WEBGPU],
  ] as const) {
    const n = result[kind];
    if (!n || n.error) continue;
    extra.push(
      blank([
        name,
        'load',
        '',
        formatMs(n.load_ms),
        '',
        '',
        '',
        `RSS ${formatMb(n.load_peak_rss_mb)}`,
        `cold, from files; + ${formatMs(n.warmup_ms)} warm-up`,
      ]),
    );
    extra.push(
      blank([
        name,
        'reference',
        'prepare',
        formatMs(n.prepare_ref_ms),
        '',
        '',
        '',
        '',
        `once per reference; tensors left after all runs: ${n.tensor_leak}`,
      ]),
    );
    if (n.gpu) {
      const g = n.gpu;
      extra.push(
        blank([
          name,
          `${g.seconds} s`,
          'dispatches',
          `${g.dispatches_zero} zero / ${g.dispatches_audio} audio`,
          '',
          '',
          '',
          '',
          `${g.pass} pass on ${g.adapter?.description || g.adapter?.architecture}${g.adapter?.software ? ' (software adapter)' : ''}`,
        ]),
      );
    }
  }
  for (const kind of ['chromium-wasm', 'webgpu'] as const) {
    const b = result[kind];
    if (!b || b.error) continue;
    const name = browserRowName(kind, b);
    const warm =
      b.warm_load_ms != null
        ? `; warm from Cache Storage ${formatMs(b.warm_load_ms)}; first score ${formatMs(b.first_score_ms)} after opening the page`
        : `; first score took ${formatMs(b.first_score_ms)}`;
    extra.push(blank([name, 'load', '', formatMs(b.cold_load_ms), '', '', '', '', `cold (network)${warm}`]));
  }
  if (rows.has('batch')) {
    log(`Node worker pool, ${workers} workers ...`);
    const bt = await runChild(['--batch-child', weights, dir, String(lengths[0]), String(batch), String(workers)]);
    result.batch = bt;
    const tb = torch.batch;
    extra.push(
      blank([
        TORCH,
        `${tb.clips} x ${tb.seconds_each} s`,
        'audio',
        `${tb.clips_per_s.toFixed(2)} clips/s`,
        '1.00',
        '',
        '',
        '',
        'reference features once',
      ]),
    );
    extra.push(
      blank([
        `Node pool, ${workers} worker threads`,
        `${batch} x ${lengths[0]} s`,
        'audio',
        `${bt.clips_per_s.toFixed(2)} clips/s`,
        `${(bt.clips_per_s / tb.clips_per_s).toFixed(2)} of PyTorch's throughput`,
        '',
        '',
        `RSS ${formatMb(bt.peak_rss_mb)}`,
        `load ${formatMs(bt.load_ms)}; reference once per worker`,
      ]),
    );
  }
  const all = [...table, ...extra];
  result.table = all;
  result.elapsed_s = (Date.now() - started) / 1000;
  result.load_average_end = os.loadavg();
  writeFileSync(outFile, JSON.stringify(result, null, 1));
  const maxDp = Math.max(
    ...timed
      .filter((r) => r.backend !== TORCH)
      .map((r) =>
        Math.abs(
          r.pBonafide -
            (timed.find((x) => x.backend === TORCH && x.seconds === r.seconds && x.ref === r.ref)?.pBonafide ?? NaN),
        ),
      ),
  );
  console.log(
    `\nRAT full size (${result.float32_weights_mb.toFixed(0)} MB float32 weights) on ${result.machine}; median of ${repeats} after a warm-up\n`,
  );
  console.log(renderTable(all));
  console.log(
    `\nmax |dP| against PyTorch over the timed rows: ${Number.isFinite(maxDp) ? maxDp.toExponential(1) : '-'}`,
  );
  console.log(
    `load average (1 min) at start ${result.load_average_start[0].toFixed(1)}, at end ${result.load_average_end[0].toFixed(1)} on ${os.availableParallelism()} cores${result.torch.reused ? '; PyTorch rows reused from an earlier run' : ''}`,
  );
  console.log(`results: ${outFile}`);
  if (process.env.BENCH_MARKDOWN) console.log(`\n${renderMarkdown(all)}`);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === '--node-child')
  await nodeChild(
    rest[0],
    rest[1],
    rest[2].split(',').map(Number),
    Number(rest[3]),
    rest[4] === 'webgpu' ? 'webgpu' : 'wasm',
  );
else if (mode === '--batch-child')
  await batchChild(rest[0], rest[1], Number(rest[2]), Number(rest[3]), Number(rest[4]));
else
  await main().catch((e) => {
    console.error(`bench: ${(e as Error).message}`);
    process.exitCode = 1;
  });
