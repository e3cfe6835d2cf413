import { SAMPLE_RATE } from '../model/config';
import type { ForwardOptions, RatScore } from '../model/rat';
import {
  DEFAULT_WINDOWS,
  type TimelineSummary,
  type WindowOptions,
  type WindowScore,
  needsWindows,
  planWindows,
  summariseWindows,
  windowOptionProblems,
} from './windows';
import { OutOfMemoryError, isOutOfMemory } from '../model/out-of-memory';

// One clip, short or long, scored the same way by the CLI and the worker: a short clip in one pass;
// a long one as overlapping windows (each scored on its own, as RAT scores utterances), plus the
// whole-file pass while that is still affordable. Windows are views into the clip (no copies) and
// every window's tensors are freed before the next, so memory stays flat however long the file.

/** Where a clip scorer is: a window of n, or the whole-file pass, with the layer inside it. */
export interface ClipProgress {
  phase: 'window' | 'single';
  /** 1-based window being scored, and how many there are (window phase only). */
  window?: number;
  windows?: number;
  layer: number;
  layers: number;
}

export interface ClipScoreOptions {
  /** Windowing (default DEFAULT_WINDOWS: over 12 s, 4 s windows every 2 s, single pass up to 30 s). */
  windows?: WindowOptions;
  /** Prepared reference reused for every window and the single pass; null is the zero vector (default). */
  reference?: ForwardOptions['reference'];
  /** Per-layer branch RMS of the single pass (default false). */
  diagnostics?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ClipProgress) => void;
}

/** How the reported P(bona fide) was obtained: the whole-file pass, or the mean over windows. */
export type PSource = 'single' | 'window_mean';

export interface ClipScore {
  /** The headline score: the single pass when it ran, otherwise the window mean (see pSource). */
  pBonafide: number;
  pSource: PSource;
  /** The whole-file pass, when the clip is short enough for one. */
  single: RatScore | null;
  /** Windows and their summary, when the clip is longer than the windowing limit. */
  timeline: TimelineSummary | null;
}

/** Anything that scores a 16 kHz clip like RatModel.score. */
export interface ClipScorer {
  score(wave: Float32Array, opts?: ForwardOptions): Promise<RatScore>;
}

export class WindowOptionsError extends Error {
  constructor(problems: string[]) {
    super(`Window settings: ${problems.join('; ')}.`);
    this.name = 'WindowOptionsError';
  }
}

/** Rethrows an engine's out-of-memory failure as OutOfMemoryError (how long the pass was); anything else unchanged. */
const oom =
  (seconds: number) =>
  (e: unknown): never => {
    throw isOutOfMemory(e) && !(e instanceof OutOfMemoryError)
      ? new OutOfMemoryError(seconds, (e as Error)?.message ?? String(e))
      : e;
  };

/** Scores a mono 16 kHz clip, windowing it when it is longer than the limit. */
export async function scoreClip(
  model: ClipScorer,
  wave: Float32Array,
  opts: ClipScoreOptions = {},
): Promise<ClipScore> {
  const o = opts.windows ?? DEFAULT_WINDOWS;
  const problems = windowOptionProblems(o);
  if (problems.length) throw new WindowOptionsError(problems);
  const base: ForwardOptions = { reference: opts.reference, signal: opts.signal };
  const windowed = needsWindows(wave.length, SAMPLE_RATE, o);
  let timeline: TimelineSummary | null = null;
  if (windowed) {
    const spans = planWindows(wave.length, SAMPLE_RATE, o);
    const scores: WindowScore[] = [];
    for (let i = 0; i < spans.length; i++) {
      const { start, end } = spans[i];
      const s = await model
        .score(wave.subarray(start, end), {
          ...base,
          onProgress:
            opts.onProgress &&
            ((p) =>
              opts.onProgress!({
                phase: 'window',
                window: i + 1,
                windows: spans.length,
                layer: p.layer,
                layers: p.layers,
              })),
        })
        .catch(oom((end - start) / SAMPLE_RATE));
      scores.push({ start: start / SAMPLE_RATE, end: end / SAMPLE_RATE, pBonafide: s.pBonafide });
    }
    timeline = summariseWindows(scores);
  }
  let single: RatScore | null = null;
  if (!windowed || wave.length <= o.singlePassMaxSeconds * SAMPLE_RATE) {
    single = await model
      .score(wave, {
        ...base,
        diagnostics: opts.diagnostics,
        onProgress: opts.onProgress && ((p) => opts.onProgress!({ phase: 'single', layer: p.layer, layers: p.layers })),
      })
      .catch(oom(wave.length / SAMPLE_RATE));
  }
  return single
    ? { pBonafide: single.pBonafide, pSource: 'single', single, timeline }
    : { pBonafide: timeline!.meanP, pSource: 'window_mean', single, timeline };
}
