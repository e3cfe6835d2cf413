import { readFileSync } from 'node:fs';
import { readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate } from '../analysis/evaluate';
import { type LabelSet, decodeLabelBytes, parseLabels } from '../analysis/labels';
import { displayName, escapeControls } from '../analysis/plain-text';
import { buildHtml } from '../analysis/report';
import { DEMO_WARNING, type ResultRow } from '../analysis/result';
import { DEFAULT_WINDOWS, type WindowOptions, windowOptionProblems } from '../analysis/windows';
import { type Engine, readClip, reason, scoreBatch } from './batch';
import { expandInputs } from './inputs';
import { nodeAdapter } from './node-webgpu';
import { type NodeBackend, loadModelFromDir, memoryGuardFromEnv, useBackend, weightsFromDir } from './node-weights';
import { ScoringPool, pooledModel } from './pool';
import { terminal } from './terminal';
import { csvWriter, jsonWriter, textWriter } from './writers';

// The scoring CLI: options, the weights and reference, then a batch (batch.ts) written as text,
// JSON lines or CSV (writers.ts), with an HTML report on request.

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEMO_DIR = path.resolve(HERE, '../../public/weights/demo');

interface Options {
  weights: string;
  ref?: string;
  json: boolean;
  csv: boolean;
  labels?: string;
  out?: string;
  progress: boolean;
  backend: NodeBackend;
  fallback?: NodeBackend;
  workers: number;
  windowLimit: number;
  window: number;
  hop: number;
  singlePassMax: number;
  caseId?: string;
  notes?: string;
}

async function readLabels(file: string): Promise<LabelSet> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(
      `labels ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  return parseLabels(decodeLabelBytes(bytes, file), file);
}

async function main(args: string[], o: Options): Promise<number> {
  memoryGuardFromEnv();
  if (o.json && o.csv) throw new Error('choose one of --json and --csv');
  const windows: WindowOptions = {
    limitSeconds: o.windowLimit,
    windowSeconds: o.window,
    hopSeconds: o.hop,
    singlePassMaxSeconds: o.singlePassMax,
  };
  const problems = windowOptionProblems(windows);
  if (problems.length) throw new Error(`${problems.join('; ')}.`);
  const labels = o.labels ? await readLabels(o.labels) : null;
  const { inputs, skipped } = await expandInputs(args);
  for (const k of skipped) console.error(escapeControls(`skipped ${displayName(k.file)}: ${k.why}`));
  if (o.out) {
    const named = [...inputs.map((i) => i.file), ...(o.ref ? [o.ref] : []), ...(o.labels ? [o.labels] : [])];
    await checkOutput(o.out, named, o.weights);
  }
  if (o.backend === 'webgpu' && o.workers > 1) {
    throw new Error(
      '--workers must be 1 with --backend webgpu: one process drives the GPU, and it scores files one after another at GPU speed',
    );
  }
  o.backend = await startBackend(o.backend, o.fallback);
  const pool =
    o.workers > 1 ? await ScoringPool.create({ weights: o.weights, workers: o.workers, backend: o.backend }) : null;
  const model = pool
    ? await pooledModel(pool, (await weightsFromDir(o.weights)).manifest)
    : await loadModelFromDir(o.weights, o.backend);
  const m = model.manifest;
  const text = !o.json && !o.csv;
  if (text) {
    if (m.demo) console.log(`*** ${DEMO_WARNING} ***`);
    const gpu = tf.getBackend() === 'webgpu' ? nodeAdapter() : null;
    const adapter = gpu
      ? ` (${gpu.description || gpu.architecture}${gpu.software ? ', a software adapter: correct but slow' : ''})`
      : '';
    console.log(escapeControls(`weights: ${m.label} (${m.dtype}), backend: ${tf.getBackend()}${adapter}`));
  } else if (o.csv && m.demo) console.error(`*** ${DEMO_WARNING} ***`);
  const engine: Engine = { model, ref: null, refWave: null };
  let refSha256: string | null = null;
  if (o.ref) {
    try {
      engine.refWave = (await readClip(o.ref, (h) => (refSha256 = h))).wave;
      engine.ref = await model.prepareReference(engine.refWave);
    } catch (e) {
      if (o.json) console.log(JSON.stringify({ file: o.ref, role: 'reference', error: reason(e) }));
      else console.error(escapeControls(`reference ${displayName(o.ref)}: ${reason(e)}`));
      return 2;
    }
  }
  const term = terminal({ json: o.json, text, progress: o.progress }, inputs.length);
  const writer = o.json
    ? jsonWriter(term)
    : o.csv
      ? csvWriter({ ...term, table: (csv) => process.stdout.write(csv) }, m.demo, o.caseId)
      : textWriter(term, windows, m.demo);
  const rows: ResultRow[] = [];
  if (inputs[0]) term.starting(inputs[0].file);
  const batch = scoreBatch(engine, inputs, {
    weightsDir: o.weights,
    backend: o.backend,
    pool,
    windows,
    refName: o.ref ?? null,
    refSha256,
    labels,
    onDecoded: term.decoded,
    onStep: term.onStep,
    onNote: term.err,
  });
  for await (const row of batch) {
    rows.push(row);
    writer.row(row);
    term.finished(row.file);
    if (inputs[rows.length]) term.starting(inputs[rows.length].file);
  }
  term.stop();
  engine.ref?.dispose();
  engine.model.dispose();
  await pool?.close();

  const scored = rows.filter((r) => r.pBonafide != null).map((r) => ({ file: r.file, score: r.pBonafide! }));
  const evaluation = labels ? evaluate(scored, labels) : null;
  writer.end(evaluation);
  if (o.out) {
    const version = JSON.parse(readFileSync(path.resolve(HERE, '../../package.json'), 'utf8')).version as string;
    const html = buildHtml(rows, {
      appVersion: version,
      date: new Date().toISOString(),
      caseId: o.caseId,
      notes: o.notes,
      evaluation,
    });
    if (!(await writeReport(o.out, html))) return 2;
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

/** Writes the report through a temporary sibling: an interrupted write never leaves half a report where a file was. */
async function writeReport(out: string, html: string): Promise<boolean> {
  try {
    const tmp = `${out}.partial-${process.pid}`;
    await writeFile(tmp, html);
    await rename(tmp, out);
    console.error(escapeControls(`report written to ${out}`));
    return true;
  } catch (e) {
    console.error(`score: the report cannot be written to ${out} (${(e as Error).message})`);
    return false;
  }
}

/** The --out report may replace an earlier report, never an input (audio, reference, labels, weights) nor anything but a file. */
async function checkOutput(out: string, inputs: string[], weights: string): Promise<void> {
  const real = (p: string) => realpath(p).catch(() => path.resolve(p));
  const target = await real(out);
  const info = await stat(out).catch(() => null);
  if (info && !info.isFile())
    throw new Error(`--out ${out} is not a file (a folder or device): name a new .html file.`);
  for (const f of inputs) {
    if ((await real(f)) === target)
      throw new Error(
        `--out ${out} is one of the inputs (${f}): it would be overwritten by the report. Name a new .html file.`,
      );
  }
  const w = await real(weights);
  if (target.startsWith(`${w}${path.sep}`))
    throw new Error(`--out ${out} is inside the weights folder ${weights}: name a file outside it.`);
}

/** The requested backend, or `fallback` (said on stderr) when it cannot start; without a fallback the reason is the error. */
async function startBackend(backend: NodeBackend, fallback: NodeBackend | undefined): Promise<NodeBackend> {
  try {
    await useBackend(backend);
    return backend;
  } catch (e) {
    if (!fallback || fallback === backend) throw e;
    console.error(`score: ${(e as Error).message}\nscore: using --fallback ${fallback} instead`);
    await useBackend(fallback);
    return fallback;
  }
}

function backendName(v: string): NodeBackend {
  if (v !== 'wasm' && v !== 'cpu' && v !== 'webgpu') throw new InvalidArgumentError('must be wasm, webgpu or cpu');
  return v;
}

function seconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number of seconds`);
  return n;
}

new Command()
  .name('score')
  .description('Score audio files with the RAT detector: P(bona fide), higher means more likely genuine.')
  .argument('<audio...>', 'audio files (WAV, FLAC, MP3, OGG, ...) or folders (searched recursively for audio files)')
  .option('--weights <dir>', 'weights folder written by convert-weights', DEMO_DIR)
  .option('--ref <audio>', 'reference recording of the claimed speaker (default: the zero vector, no reference)')
  .option('--json', 'one JSON object per file on stdout (with --labels, the last line is the evaluation)', false)
  .option('--csv', 'a CSV table of every file on stdout', false)
  .option('--labels <file>', 'ASVspoof 5 / 2019 protocol or CSV of file name and bonafide/spoof: EER and minDCF')
  .option('--out <file>', 'write a self-contained HTML report')
  .option('--case-id <id>', 'a case reference, written in the HTML report and on every CSV row')
  .option('--notes <text>', 'notes for the HTML report')
  .option(
    '--progress',
    'progress bar (seconds of audio, and files) on stderr even when it is not a terminal (default: only on a terminal, for more than one file)',
    false,
  )
  .option(
    '--window-limit <seconds>',
    'files longer than this are also scored as overlapping windows',
    seconds,
    DEFAULT_WINDOWS.limitSeconds,
  )
  .option('--window <seconds>', 'window length', seconds, DEFAULT_WINDOWS.windowSeconds)
  .option('--hop <seconds>', 'hop between window starts', seconds, DEFAULT_WINDOWS.hopSeconds)
  .option(
    '--single-pass-max <seconds>',
    'windowed files up to this long also get a whole-file score (0: never)',
    seconds,
    DEFAULT_WINDOWS.singlePassMaxSeconds,
  )
  .option('--backend <name>', 'tfjs backend: wasm, webgpu (Dawn: a GPU through Vulkan) or cpu', backendName, 'wasm')
  .option(
    '--fallback <name>',
    'backend to use when --backend cannot start (default: none, the reason is an error)',
    backendName,
  )
  .option(
    '--workers <n>',
    'score this many files at once, each worker thread with its own model (about 1.3 GB each for XLS-R 300M)',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64)
        throw new InvalidArgumentError('must be a whole number from 1 to 64');
      return n;
    },
    1,
  )
  .action(async (files: string[], o: Options) => {
    process.exitCode = await main(files, o);
  })
  .parseAsync()
  .catch((e: Error) => {
    console.error(escapeControls(`score: ${e.message}`));
    process.exitCode = 2;
  });
