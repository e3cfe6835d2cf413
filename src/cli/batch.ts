import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { type LabelSet, fileId } from '../analysis/labels';
import { displayName } from '../analysis/plain-text';
import { type ResultRow, type WeightsRef, outOfMemoryAdvice } from '../analysis/result';
import { type ClipProgress, type ClipScore, scoreClip } from '../analysis/score-clip';
import { verdictOf } from '../analysis/verdict';
import type { WindowOptions } from '../analysis/windows';
import { AudioDecodeError, decodeClip } from '../audio/decode';
import type { RatModel } from '../model/load';
import { OutOfMemoryError, needsRestart } from '../model/out-of-memory';
import { ClipTooShortError, type PreparedReference } from '../model/rat';
import { refuseOversized } from './audio-file';
import type { Input } from './inputs';
import { loseWebGPUDevice, webgpuDeviceLost } from './node-webgpu';
import { type NodeBackend, reloadAfterTrap } from './node-weights';
import type { ScoringPool } from './pool';
import { inOrder, nextResult } from '../util/in-order';

// The CLI's batch: every input read, decoded and scored, one ResultRow per input in input order
// (a failure is a row with its error). Writers (writers.ts) turn the rows into text, JSON or CSV.

/**
 * Reads and decodes one audio file (`at`: its exact name in bytes when that is not UTF-8); the
 * SHA-256 of its bytes is known as soon as it was read.
 */
export async function readClip(file: string, onBytes?: (sha256: string) => void, at: string | Buffer = file) {
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

/** Why a file has no score, in words for a row's `error`. */
export function reason(e: unknown): string {
  if (e instanceof AudioDecodeError) return e.reason;
  if (e instanceof ClipTooShortError) return e.message;
  return (e as Error)?.message ?? String(e);
}

/** The model and reference a batch scores with; replaced in place when the engine is restarted. */
export interface Engine {
  /** The model in this thread, or the one that hands work to the pool's workers. */
  model: Pick<RatModel, 'score' | 'prepareReference' | 'manifest' | 'dispose'>;
  ref: PreparedReference | null;
  /** The reference's waveform, to prepare it again on a fresh engine. */
  refWave: Float32Array | null;
}

export interface BatchOptions {
  weightsDir: string;
  backend: NodeBackend;
  /** Worker threads scoring the next files while this one is reported (null: this thread scores). */
  pool: ScoringPool | null;
  windows: WindowOptions;
  /** The reference file as the user named it; null for the zero vector. */
  refName: string | null;
  /** SHA-256 of the reference file's bytes; null for the zero vector. */
  refSha256: string | null;
  labels: LabelSet | null;
  /** A file was read and decoded: its length in seconds. */
  onDecoded?: (file: string, seconds: number) => void;
  /** Where a long file is (not reported from pool workers); `seconds`: the clip's length. */
  onStep?: (file: string, p: ClipProgress, seconds: number) => void;
  /** A line for the user about the run itself (a restarted engine). */
  onNote?: (line: string) => void;
}

type Scored = { clip: Awaited<ReturnType<typeof readClip>>; r: ClipScore; elapsed: number; audioSha256: string | null };
type Failed = { error: unknown; audioSha256: string | null };

/** The weights a row names. */
export const weightsRef = (model: Pick<RatModel, 'manifest'>): WeightsRef => {
  const m = model.manifest;
  return { label: m.label, demo: m.demo, dtype: m.dtype, sha256: m.source?.sha256 ?? null };
};

/** Scores every input in order; each result is yielded as soon as it and every earlier one are done. */
export async function* scoreBatch(engine: Engine, inputs: Input[], o: BatchOptions): AsyncGenerator<ResultRow> {
  const lostDevice = () => (o.backend === 'webgpu' ? webgpuDeviceLost() : null);
  const work = async (input: Input, retried = false): Promise<Scored | Failed> => {
    const file = input.file;
    let audioSha256: string | null = null;
    try {
      if (process.env.RAT_FAULT_LOSE_DEVICE === file) {
        // tests only: one driver reset before this file
        delete process.env.RAT_FAULT_LOSE_DEVICE;
        loseWebGPUDevice();
      }
      if ('error' in input) throw new AudioDecodeError(file, input.error);
      const clip = await readClip(file, (h) => (audioSha256 = h), 'bytes' in input && input.bytes ? input.bytes : file);
      o.onDecoded?.(file, clip.seconds);
      const t0 = performance.now();
      const onStep = o.onStep;
      const onProgress = o.pool || !onStep ? undefined : (p: ClipProgress) => onStep(file, p, clip.seconds);
      const r = await scoreClip(engine.model, clip.wave, { reference: engine.ref, windows: o.windows, onProgress });
      // numbers read back from a lost device mean nothing, even when no call failed
      if (lostDevice()) throw new Error(`the GPU device was lost (${lostDevice()})`);
      return { clip, r, elapsed: performance.now() - t0, audioSha256 };
    } catch (e) {
      if (lostDevice()) {
        // like a trapped WASM engine: a fresh device, the weights and the reference again, this file once more
        const why = lostDevice();
        Object.assign(engine, await reloadAfterTrap(o.backend, o.weightsDir, engine.refWave));
        if (!retried) {
          o.onNote?.(
            `${displayName(file)}: the GPU device was lost (${why}); the engine was restarted and the file is scored again`,
          );
          return work(input, true);
        }
        const error = new Error(
          `the GPU device was lost twice while scoring this file (${why}); the engine was restarted`,
        );
        return { error, audioSha256 };
      }
      if (e instanceof OutOfMemoryError) {
        // a trapped backend cannot score again: a fresh one, the weights and the reference reloaded
        // (pool workers do this themselves); a pass refused before it ran left the engine as it was
        if (!o.pool && needsRestart(e))
          Object.assign(engine, await reloadAfterTrap(o.backend, o.weightsDir, engine.refWave));
        const restarted = e.refused ? '' : '; the engine was restarted';
        return { error: new Error(`${e.message}${restarted}. ${outOfMemoryAdvice(o.windows, 'cli')}`), audioSha256 };
      }
      return { error: e, audioSha256 };
    }
  };
  const results = inOrder(inputs, o.pool ? 2 * o.pool.size : 1, (input) => work(input));
  for (let i = 0; i < inputs.length; i++) {
    const file = inputs[i].file;
    const done = await nextResult(results);
    const base = {
      file,
      refMode: engine.ref ? ('audio' as const) : ('zero' as const),
      ref: o.refName,
      refSha256: o.refSha256,
      weights: weightsRef(engine.model),
      audioSha256: done.audioSha256,
    };
    if ('error' in done) {
      yield { ...base, seconds: null, pBonafide: null, verdict: null, error: reason(done.error) };
      continue;
    }
    const { clip, r, elapsed } = done;
    yield {
      ...base,
      seconds: clip.seconds,
      pBonafide: r.pBonafide,
      pSource: r.pSource,
      logits: r.single?.logits ?? null,
      verdict: verdictOf(r.pBonafide),
      backend: tf.getBackend(),
      elapsedMs: elapsed,
      windows: o.windows,
      scoredAt: new Date().toISOString(),
      label: o.labels?.labels.get(fileId(file))?.key ?? null,
      timeline: r.timeline,
      noSignal: clip.noSignal,
    };
  }
}
