import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { AudioDecodeError, decodeClip } from '../audio/decode';
import { ClipTooShortError, type PreparedReference } from '../model/rat';
import { type NodeBackend, loadModelFromDir } from './node-weights';

const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public/weights/demo');
const DEMO_WARNING = 'DEMO WEIGHTS: untrained, scores carry no meaning';

interface Options { weights: string; ref?: string; json: boolean; backend: NodeBackend }

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

async function main(files: string[], o: Options): Promise<number> {
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
      const s = await model.score(clip.wave, { reference: ref });
      const elapsed = performance.now() - t0;
      const verdict = s.pBonafide >= 0.5 ? 'bonafide' : 'spoof';
      if (o.json) {
        console.log(JSON.stringify({
          file, p_bonafide: s.pBonafide, logits: s.logits, verdict, ref_mode: s.refMode, ref: o.ref ?? null,
          seconds: clip.seconds, elapsed_ms: Math.round(elapsed * 10) / 10, backend: tf.getBackend(), weights,
          ...(m.demo ? { warning: DEMO_WARNING } : {}),
        }));
      } else {
        const words = verdict === 'bonafide' ? 'leans bona fide' : 'leans spoof';
        console.log(`${file}: P(bona fide) = ${s.pBonafide.toFixed(4)} (${words} at the 0.5 decision point)` +
          `  ref: ${s.refMode === 'zero' ? 'zero vector' : o.ref}  ${clip.seconds.toFixed(2)} s audio, ${elapsed.toFixed(0)} ms${m.demo ? '  [demo weights]' : ''}`);
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

new Command()
  .name('score')
  .description('Score audio files with the RAT detector: P(bona fide), higher means more likely genuine.')
  .argument('<audio...>', 'audio files (WAV, FLAC, MP3, OGG, ...)')
  .option('--weights <dir>', 'weights folder written by convert-weights', DEMO_DIR)
  .option('--ref <audio>', 'reference recording of the claimed speaker (default: the zero vector, no reference)')
  .option('--json', 'one JSON object per file on stdout', false)
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
