import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { AudioDecodeError, decodeClip } from '../audio/decode';
import { type ClipProgress, type ClipScore, scoreClip } from '../analysis/score-clip';
import { DEFAULT_WINDOWS, type WindowOptions, windowOptionProblems } from '../analysis/windows';
import { ClipTooShortError, type PreparedReference } from '../model/rat';
import { type NodeBackend, loadModelFromDir } from './node-weights';

const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public/weights/demo');
const DEMO_WARNING = 'DEMO WEIGHTS: untrained, scores carry no meaning';

interface Options {
  weights: string; ref?: string; json: boolean; backend: NodeBackend;
  windowLimit: number; window: number; hop: number; singlePassMax: number;
}

async function readClip(file: string) {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new AudioDecodeError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot be read (${(e as Error).message})`);
  }
  return decodeClip(bytes, file);
}

function reason(e: unknown): string {
  if (e instanceof AudioDecodeError) return e.reason;
  if (e instanceof ClipTooShortError) return e.message;
  return (e as Error)?.message ?? String(e);
}

/** The --json `timeline` object: window scores in seconds and their summary. */
function timelineJson(t: NonNullable<ClipScore['timeline']>, w: WindowOptions) {
  return {
    mean_p: t.meanP, min_p: t.minP, fraction_below_half: t.fractionBelowHalf, window_s: w.windowSeconds, hop_s: w.hopSeconds,
    windows: t.windows.map((x) => ({ start: x.start, end: x.end, p_bonafide: x.pBonafide })),
  };
}

/** A one-line progress report on stderr for long files, only when stderr is a terminal. */
function progressLine(file: string): ((p: ClipProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => process.stderr.write(`\r${file}: ${p.phase === 'window' ? `window ${p.window} of ${p.windows}` : `whole file, layer ${p.layer} of ${p.layers}`}   `);
}

async function main(files: string[], o: Options): Promise<number> {
  const windows: WindowOptions = { limitSeconds: o.windowLimit, windowSeconds: o.window, hopSeconds: o.hop, singlePassMaxSeconds: o.singlePassMax };
  const problems = windowOptionProblems(windows);
  if (problems.length) throw new Error(`${problems.join('; ')}.`);
  const model = await loadModelFromDir(o.weights, o.backend);
  const m = model.manifest;
  const weights = { label: m.label, demo: m.demo, dtype: m.dtype, sha256: m.source?.sha256 ?? null };
  if (!o.json) {
    if (m.demo) console.log(`*** ${DEMO_WARNING} ***`);
    console.log(`weights: ${m.label} (${m.dtype}), backend: ${tf.getBackend()}`);
  }
  let ref: PreparedReference | null = null;
  if (o.ref) {
    try {
      ref = await model.prepareReference((await readClip(o.ref)).wave);
    } catch (e) {
      const msg = `reference ${o.ref}: ${reason(e)}`;
      if (o.json) console.log(JSON.stringify({ file: o.ref, role: 'reference', error: reason(e) }));
      else console.error(msg);
      return 2;
    }
  }
  let failed = 0;
  for (const file of files) {
    try {
      const clip = await readClip(file);
      const t0 = performance.now();
      const onProgress = o.json ? undefined : progressLine(file);
      const r = await scoreClip(model, clip.wave, { reference: ref, windows, onProgress });
      if (onProgress) process.stderr.write('\r\x1b[K');
      const s = r.single;
      const elapsed = performance.now() - t0;
      const verdict = r.pBonafide >= 0.5 ? 'bonafide' : 'spoof';
      if (o.json) {
        console.log(JSON.stringify({
          file, p_bonafide: r.pBonafide, p_source: r.pSource, logits: s?.logits ?? null, verdict, ref_mode: ref ? 'audio' : 'zero', ref: o.ref ?? null,
          seconds: clip.seconds, elapsed_ms: Math.round(elapsed * 10) / 10, backend: tf.getBackend(), weights,
          ...(r.timeline ? { timeline: timelineJson(r.timeline, windows) } : {}),
          ...(m.demo ? { warning: DEMO_WARNING } : {}),
        }));
      } else {
        const words = verdict === 'bonafide' ? 'leans bona fide' : 'leans spoof';
        const how = r.timeline ? (s ? ' whole file' : ` mean of ${r.timeline.windows.length} windows (longer than --single-pass-max ${windows.singlePassMaxSeconds} s)`) : '';
        console.log(`${file}: P(bona fide) = ${r.pBonafide.toFixed(4)}${how} (${words} at the 0.5 decision point)` +
          `  ref: ${ref ? o.ref : 'zero vector'}  ${clip.seconds.toFixed(2)} s audio, ${elapsed.toFixed(0)} ms${m.demo ? '  [demo weights]' : ''}`);
        if (r.timeline) {
          const t = r.timeline;
          console.log(`  timeline: ${t.windows.length} windows of ${windows.windowSeconds} s every ${windows.hopSeconds} s: mean ${t.meanP.toFixed(4)}, ` +
            `min ${t.minP.toFixed(4)}, ${(100 * t.fractionBelowHalf).toFixed(1)} % of windows below 0.5`);
        }
      }
    } catch (e) {
      failed++;
      if (o.json) console.log(JSON.stringify({ file, error: reason(e) }));
      else console.error(`${file}: ${reason(e)}`);
    }
  }
  ref?.dispose();
  model.dispose();
  return failed ? 1 : 0;
}

function seconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number of seconds`);
  return n;
}

new Command()
  .name('score')
  .description('Score audio files with the RAT detector: P(bona fide), higher means more likely genuine.')
  .argument('<audio...>', 'audio files (WAV, FLAC, MP3, OGG, ...)')
  .option('--weights <dir>', 'weights folder written by convert-weights', DEMO_DIR)
  .option('--ref <audio>', 'reference recording of the claimed speaker (default: the zero vector, no reference)')
  .option('--json', 'one JSON object per file on stdout', false)
  .option('--window-limit <seconds>', 'files longer than this are also scored as overlapping windows', seconds, DEFAULT_WINDOWS.limitSeconds)
  .option('--window <seconds>', 'window length', seconds, DEFAULT_WINDOWS.windowSeconds)
  .option('--hop <seconds>', 'hop between window starts', seconds, DEFAULT_WINDOWS.hopSeconds)
  .option('--single-pass-max <seconds>', 'windowed files up to this long also get a whole-file score (0: never)', seconds, DEFAULT_WINDOWS.singlePassMaxSeconds)
  .option('--backend <name>', 'tfjs backend: wasm or cpu', (v) => {
    if (v !== 'wasm' && v !== 'cpu') throw new InvalidArgumentError('must be wasm or cpu');
    return v;
  }, 'wasm')
  .action(async (files: string[], o: Options) => { process.exitCode = await main(files, o); })
  .parseAsync()
  .catch((e: Error) => {
    console.error(`score: ${e.message}`);
    process.exitCode = 2;
  });
