// Long clips as overlapping windows. RAT scores whole utterances and the encoder's self-attention
// grows with the square of the length, so past a limit a file is scored window by window and
// summarised; shared by the CLI, the worker and the reports.

export interface WindowOptions {
  /** Files longer than this many seconds are windowed (default 12). */
  limitSeconds: number;
  /** Window length in seconds (default 4). */
  windowSeconds: number;
  /** Hop between window starts in seconds (default 2). */
  hopSeconds: number;
  /** A single whole-file pass is still run up to this length in seconds (default 30). */
  singlePassMaxSeconds: number;
}

export const DEFAULT_WINDOWS: WindowOptions = {
  limitSeconds: 12,
  windowSeconds: 4,
  hopSeconds: 2,
  singlePassMaxSeconds: 30,
};

/** One window of a clip, in samples: [start, end). */
export interface WindowSpan {
  start: number;
  end: number;
}

export interface WindowScore {
  /** Start and end in seconds. */
  start: number;
  end: number;
  pBonafide: number;
}

export interface TimelineSummary {
  windows: WindowScore[];
  meanP: number;
  minP: number;
  /** Fraction of windows with P(bona fide) < 0.5. */
  fractionBelowHalf: number;
}

/** Shortest window and hop accepted: shorter windows hold too little speech for a score and multiply the passes. */
export const MIN_WINDOW_SECONDS = 0.1;

/** Problems with window options, in words; empty when they are usable. */
export function windowOptionProblems(o: WindowOptions): string[] {
  const out: string[] = [];
  const pos = (v: number, name: string) => {
    if (!(Number.isFinite(v) && v > 0)) out.push(`${name} must be a positive number of seconds (got ${v})`);
  };
  pos(o.limitSeconds, 'the windowing limit');
  pos(o.windowSeconds, 'the window length');
  pos(o.hopSeconds, 'the hop');
  if (!(Number.isFinite(o.singlePassMaxSeconds) && o.singlePassMaxSeconds >= 0))
    out.push(`the single-pass maximum must be 0 or more seconds (got ${o.singlePassMaxSeconds})`);
  if (o.windowSeconds > 0 && o.windowSeconds < MIN_WINDOW_SECONDS)
    out.push(`the window must be at least ${MIN_WINDOW_SECONDS} s (got ${o.windowSeconds})`);
  if (o.hopSeconds > 0 && o.hopSeconds < MIN_WINDOW_SECONDS)
    out.push(`the hop must be at least ${MIN_WINDOW_SECONDS} s (got ${o.hopSeconds})`);
  if (o.hopSeconds > o.windowSeconds)
    out.push(
      `the hop (${o.hopSeconds} s) must not exceed the window (${o.windowSeconds} s), or audio between windows goes unscored`,
    );
  return out;
}

/** Whether a clip of `samples` at `rate` Hz is scored as windows. */
export function needsWindows(samples: number, rate: number, o: WindowOptions = DEFAULT_WINDOWS): boolean {
  return samples > o.limitSeconds * rate;
}

/**
 * Window spans covering the whole clip: starts at 0, hop, 2 hop, ... and a last window aligned to
 * the end so the tail is scored too. A clip no longer than one window is one span.
 */
export function planWindows(samples: number, rate: number, o: WindowOptions = DEFAULT_WINDOWS): WindowSpan[] {
  const win = Math.round(o.windowSeconds * rate);
  const hop = Math.max(1, Math.round(o.hopSeconds * rate));
  if (samples <= win) return [{ start: 0, end: samples }];
  const spans: WindowSpan[] = [];
  let start = 0;
  for (; start + win <= samples; start += hop) spans.push({ start, end: start + win });
  if (spans[spans.length - 1].end < samples) spans.push({ start: samples - win, end: samples });
  return spans;
}

/** Mean and minimum window P(bona fide), and the fraction of windows below 0.5. */
export function summariseWindows(windows: WindowScore[]): TimelineSummary {
  if (!windows.length) throw new Error('no windows to summarise');
  let sum = 0;
  let min = Infinity;
  let below = 0;
  for (const w of windows) {
    sum += w.pBonafide;
    min = Math.min(min, w.pBonafide);
    if (w.pBonafide < 0.5) below++;
  }
  return { windows, meanP: sum / windows.length, minP: min, fractionBelowHalf: below / windows.length };
}
