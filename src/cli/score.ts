import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate, evaluationSummary } from '../analysis/evaluate';
import { type LabelSet, decodeLabelBytes, fileId, parseLabels } from '../analysis/labels';
import { type BatchRow, DEMO_WARNING, buildCsv, buildHtml, verdictOf } from '../analysis/report';
import { displayName, escapeControls } from '../analysis/plain-text';
import { type ClipProgress, type ClipScore, scoreClip } from '../analysis/score-clip';
import { DEFAULT_WINDOWS, type WindowOptions, windowOptionProblems } from '../analysis/windows';
import { AudioDecodeError, NO_SIGNAL_WARNING, decodeClip } from '../audio/decode';
import { refuseOversized } from './audio-file';
import { OutOfMemoryError, needsRestart } from '../model/out-of-memory';
import { ClipTooShortError, type PreparedReference } from '../model/rat';
import { expandInputs } from './inputs';
import { loseWebGPUDevice, nodeAdapter, webgpuDeviceLost } from './node-webgpu';
import {
  type NodeBackend,
  loadModelFromDir,
  useBackend,
  memoryGuardFromEnv,
  reloadAfterTrap,
  weightsFromDir,
} from './node-weights';
import { ScoringPool, inOrderAhead, pooledModel } from './pool';

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
}

/** Reads and decodes one audio file (`at`: its exact name in bytes when that is not UTF-8); the SHA-256 of its bytes is known as soon as it was read. */
async function readClip(file: string, onBytes?: (sha256: string) => void, at: string | Buffer = file) {
  let bytes: Uint8Array;
  await refuseOversized(at, file);
  try {
    bytes = await readFile(at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AudioDecodeError(
      file,
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder'
          : `cannot be read (${(e as Error).message})`,
    );
  }
  onBytes?.(createHash('sha256').update(bytes).digest('hex'));
  return decodeClip(bytes, file);
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

/** One file read and scored, or why not. */
type WorkResult =
  | { clip: Awaited<ReturnType<typeof readClip>>; r: ClipScore; elapsed: number; audioSha256: string | null }
  | { error: unknown; audioSha256: string | null };

function reason(e: unknown): string {
  if (e instanceof AudioDecodeError) return e.reason;
  if (e instanceof ClipTooShortError) return e.message;
  return (e as Error)?.message ?? String(e);
}

/** The --json `timeline` object: window scores in seconds and their summary. */
function timelineJson(t: NonNullable<ClipScore['timeline']>, w: WindowOptions) {
  return {
    mean_p: t.meanP,
    min_p: t.minP,
    fraction_below_half: t.fractionBelowHalf,
    window_s: w.windowSeconds,
    hop_s: w.hopSeconds,
    windows: t.windows.map((x) => ({ start: x.start, end: x.end, p_bonafide: x.pBonafide })),
  };
}

/** Where a long file is, in words (window n of m, or the whole-file pass). */
const clipStep = (p: ClipProgress) =>
  p.phase === 'window' ? `window ${p.window} of ${p.windows}` : `whole file, layer ${p.layer} of ${p.layers}`;

/** A one-line progress report on stderr for long files, only when stderr is a terminal. */
function progressLine(file: string): ((p: ClipProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => process.stderr.write(`\r${displayName(file)}: ${clipStep(p)}   `);
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
  if (o.out)
    await checkOutput(
      o.out,
      [...inputs.map((i) => i.file), ...(o.ref ? [o.ref] : []), ...(o.labels ? [o.labels] : [])],
      o.weights,
    );
  if (o.backend === 'webgpu' && o.workers > 1)
    throw new Error(
      '--workers must be 1 with --backend webgpu: one process drives the GPU, and it scores files one after another at GPU speed',
    );
  o.backend = await startBackend(o.backend, o.fallback);
  const pool =
    o.workers > 1 ? await ScoringPool.create({ weights: o.weights, workers: o.workers, backend: o.backend }) : null;
  let model = pool
    ? await pooledModel(pool, (await weightsFromDir(o.weights)).manifest)
    : await loadModelFromDir(o.weights, o.backend);
  const m = model.manifest;
  const weights = { label: m.label, demo: m.demo, dtype: m.dtype, sha256: m.source?.sha256 ?? null };
  const text = !o.json && !o.csv;
  if (text) {
    if (m.demo) console.log(`*** ${DEMO_WARNING} ***`);
    const gpu = tf.getBackend() === 'webgpu' ? nodeAdapter() : null;
    const adapter = gpu
      ? ` (${gpu.description || gpu.architecture}${gpu.software ? ', a software adapter: correct but slow' : ''})`
      : '';
    console.log(escapeControls(`weights: ${m.label} (${m.dtype}), backend: ${tf.getBackend()}${adapter}`));
  } else if (o.csv && m.demo) console.error(`*** ${DEMO_WARNING} ***`);
  let ref: PreparedReference | null = null;
  let refWave: Float32Array | null = null;
  if (o.ref) {
    try {
      refWave = (await readClip(o.ref)).wave;
      ref = await model.prepareReference(refWave);
    } catch (e) {
      const msg = escapeControls(`reference ${displayName(o.ref)}: ${reason(e)}`);
      if (o.json) console.log(JSON.stringify({ file: o.ref, role: 'reference', error: reason(e) }));
      else console.error(msg);
      return 2;
    }
  }
  // the bar goes to stderr; result lines meant for the same terminal go above it
  const bars =
    o.progress || (process.stderr.isTTY && inputs.length > 1)
      ? new cliProgress.MultiBar(
          {
            stream: process.stderr,
            format: 'scoring [{bar}] {value}/{total} files | {eta_formatted} left | {file}',
            hideCursor: true,
            clearOnComplete: !!process.stderr.isTTY,
            noTTYOutput: !process.stderr.isTTY,
            notTTYSchedule: 1000,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const bar = bars?.create(inputs.length, 0, { file: '' });
  // text lines are escaped whole: a decoder's message may quote the file name too (JSON is escaped by JSON.stringify)
  const shown = (line: string) => (o.json ? line : escapeControls(line));
  const out = (line: string) =>
    bars && process.stdout.isTTY ? bars.log(`${shown(line)}\n`) : console.log(shown(line));
  const err = (line: string) =>
    bars && process.stderr.isTTY ? bars.log(`${shown(line)}\n`) : console.error(shown(line));
  const rows: BatchRow[] = [];
  let failed = 0;
  // reads and scores one file; with --workers, the next files run while this one is reported (output keeps input order)
  const lostDevice = () => (o.backend === 'webgpu' ? webgpuDeviceLost() : null);
  const work = async (input: (typeof inputs)[number], retried = false): Promise<WorkResult> => {
    const file = input.file;
    let audioSha256: string | null = null;
    try {
      if (process.env.RAT_FAULT_LOSE_DEVICE === file) {
        // tests only: one driver reset before this file
        delete process.env.RAT_FAULT_LOSE_DEVICE;
        loseWebGPUDevice();
      }
      if ('error' in input) throw new AudioDecodeError(file, input.error);
      const clip = await readClip(
        file,
        (h) => {
          audioSha256 = h;
        },
        'bytes' in input ? input.bytes : file,
      );
      const t0 = performance.now();
      const name = path.basename(file);
      // a long file's windows show in the batch bar, or on their own line without one (not from pool workers)
      const onProgress = pool
        ? undefined
        : bar
          ? (p: ClipProgress) => bar.update({ file: `${displayName(name)}: ${clipStep(p)}` })
          : text
            ? progressLine(file)
            : undefined;
      const r = await scoreClip(model, clip.wave, { reference: ref, windows, onProgress });
      if (onProgress && !bar) process.stderr.write('\r\x1b[K');
      // numbers read back from a lost device mean nothing, even when no call failed
      if (lostDevice()) throw new Error(`the GPU device was lost (${lostDevice()})`);
      return { clip, r, elapsed: performance.now() - t0, audioSha256 };
    } catch (e) {
      if (lostDevice()) {
        // like a trapped WASM engine: a fresh device, the weights and the reference again, this file once more
        const why = lostDevice();
        ({ model, ref } = await reloadAfterTrap(o.backend, o.weights, refWave));
        if (!retried) {
          err(
            `${displayName(file)}: the GPU device was lost (${why}); the engine was restarted and the file is scored again`,
          );
          return work(input, true);
        }
        return {
          error: new Error(`the GPU device was lost twice while scoring this file (${why}); the engine was restarted`),
          audioSha256,
        };
      }
      if (e instanceof OutOfMemoryError) {
        // a trapped backend cannot score again: a fresh one, the weights and the reference reloaded
        // (pool workers do this themselves); a pass refused before it ran left the engine as it was
        if (!pool && needsRestart(e)) ({ model, ref } = await reloadAfterTrap(o.backend, o.weights, refWave));
        return {
          error: new Error(
            `${e.message}${e.refused ? '' : '; the engine was restarted'}. Lower --single-pass-max (now ${windows.singlePassMaxSeconds} s) ` +
              `or --window-limit (now ${windows.limitSeconds} s) so long files are scored in ${windows.windowSeconds} s windows.`,
          ),
          audioSha256,
        };
      }
      return { error: e, audioSha256 };
    }
  };
  const job = inOrderAhead(inputs, pool ? 2 * pool.size : 1, (input) => work(input));
  for (let i = 0; i < inputs.length; i++) {
    const file = inputs[i].file;
    bar?.update({ file: displayName(path.basename(file)) });
    const done = await job(i);
    const audioSha256 = done.audioSha256;
    try {
      if ('error' in done) throw done.error;
      const { clip, r, elapsed } = done;
      const s = r.single;
      const verdict = verdictOf(r.pBonafide);
      const refMode = ref ? 'audio' : 'zero';
      const label = labels?.labels.get(fileId(file))?.key ?? null;
      rows.push({
        file,
        seconds: clip.seconds,
        pBonafide: r.pBonafide,
        pSource: r.pSource,
        verdict,
        refMode,
        ref: o.ref ?? null,
        weights,
        audioSha256,
        backend: tf.getBackend(),
        label,
        timeline: r.timeline,
      });
      if (o.json) {
        out(
          JSON.stringify({
            file,
            p_bonafide: r.pBonafide,
            p_source: r.pSource,
            logits: s?.logits ?? null,
            verdict,
            ref_mode: refMode,
            ref: o.ref ?? null,
            seconds: clip.seconds,
            elapsed_ms: Math.round(elapsed * 10) / 10,
            backend: tf.getBackend(),
            weights,
            audio_sha256: audioSha256,
            ...(label ? { label } : {}),
            ...(r.timeline ? { timeline: timelineJson(r.timeline, windows) } : {}),
            ...(m.demo ? { warning: DEMO_WARNING } : {}),
            ...(clip.noSignal ? { signal_warning: NO_SIGNAL_WARNING } : {}),
          }),
        );
      } else if (text) {
        const words = verdict === 'bonafide' ? 'leans bona fide' : 'leans spoof';
        const how = r.timeline
          ? s
            ? ' whole file'
            : ` mean of ${r.timeline.windows.length} windows (longer than --single-pass-max ${windows.singlePassMaxSeconds} s)`
          : '';
        out(
          `${displayName(file)}: P(bona fide) = ${r.pBonafide.toFixed(4)}${how} (${words} at the 0.5 decision point)` +
            `  ref: ${ref ? displayName(o.ref!) : 'zero vector'}  ${clip.seconds.toFixed(2)} s audio, ${elapsed.toFixed(0)} ms${m.demo ? '  [demo weights]' : ''}` +
            `${clip.noSignal ? `  [${NO_SIGNAL_WARNING}]` : ''}`,
        );
        if (r.timeline) {
          const t = r.timeline;
          out(
            `  timeline: ${t.windows.length} windows of ${windows.windowSeconds} s every ${windows.hopSeconds} s: mean ${t.meanP.toFixed(4)}, ` +
              `min ${t.minP.toFixed(4)}, ${(100 * t.fractionBelowHalf).toFixed(1)} % of windows below 0.5`,
          );
        }
      }
    } catch (e) {
      failed++;
      rows.push({
        file,
        seconds: null,
        pBonafide: null,
        verdict: null,
        refMode: ref ? 'audio' : 'zero',
        ref: o.ref ?? null,
        weights,
        audioSha256,
        error: reason(e),
      });
      if (o.json) out(JSON.stringify({ file, error: reason(e) }));
      else err(`${displayName(file)}: ${reason(e)}`);
    }
    bar?.increment();
  }
  bars?.stop();
  ref?.dispose();
  model.dispose();
  await pool?.close();

  if (o.csv) process.stdout.write(buildCsv(rows));
  const evaluation = labels
    ? evaluate(
        rows.filter((r) => r.pBonafide != null).map((r) => ({ file: r.file, score: r.pBonafide! })),
        labels,
      )
    : null;
  if (evaluation) {
    if (o.json) console.log(JSON.stringify(evaluationSummary(evaluation)));
    else {
      const say = o.csv ? console.error : console.log;
      const e = evaluation;
      say(
        e.metrics
          ? `EER ${(100 * e.metrics.eer).toFixed(2)} % (threshold ${e.metrics.eerThreshold.toFixed(4)}), minDCF ${e.metrics.minDcf.toFixed(4)} ` +
              `(ASVspoof 5 costs) over ${e.nBonafide} bona fide and ${e.nSpoof} spoof files${m.demo ? '  [demo weights: meaningless]' : ''}`
          : e.problem!,
      );
      for (const a of e.attacks)
        say(
          `  ${a.attack}${a.tags ? ` (${a.tags})` : ''}: ${a.n} files${a.eer == null ? '' : `, EER vs bona fide ${(100 * a.eer).toFixed(2)} %`}`,
        );
      if (e.unlabelledFiles.length)
        say(
          `no label for ${e.unlabelledFiles.length} scored files (left out): ${e.unlabelledFiles.map(displayName).join(', ')}`,
        );
      if (e.unmatchedLabels.length) say(`${e.unmatchedLabels.length} labels matched no scored file`);
    }
  }
  if (o.out) {
    const version = JSON.parse(readFileSync(path.resolve(HERE, '../../package.json'), 'utf8')).version as string;
    const html = buildHtml(rows, {
      appVersion: version,
      date: new Date().toISOString(),
      weights,
      settings: { refMode: o.ref ? 'audio' : 'zero', ref: o.ref ?? null, windows, backend: tf.getBackend() },
      evaluation,
    });
    try {
      // through a temporary sibling: an interrupted write never leaves half a report where a file was
      const tmp = `${o.out}.partial-${process.pid}`;
      await writeFile(tmp, html);
      await rename(tmp, o.out);
      console.error(escapeControls(`report written to ${o.out}`));
    } catch (e) {
      console.error(`score: the report cannot be written to ${o.out} (${(e as Error).message})`);
      return 2;
    }
  }
  return failed ? 1 : 0;
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
  .option(
    '--progress',
    'progress bar on stderr even when it is not a terminal (default: only on a terminal, for more than one file)',
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
