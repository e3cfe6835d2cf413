import { outOfMemoryAdvice } from '../analysis/result';
import type { WindowOptions } from '../analysis/windows';
import type { ErrorCode, Progress, ScoreResult, WeightsInfo } from '../worker/protocol';
import { WorkerError } from '../worker/protocol';

// The page's scoring scheduler, without React: every ready test clip is scored under the current
// reference and weights, one at a time, in the order the clips were added. A result is kept per
// (clip, reference, weights), so switching back to an earlier choice shows its rows at once.

/** One finished (or failed) scoring of a clip under a reference and weights. */
export interface ScoreRow {
  key: string;
  clipId: string;
  refId: string | null;
  refName: string;
  weightsLabel: string;
  weightsSha256: string | null;
  demo: boolean;
  result?: ScoreResult;
  error?: string;
  code?: ErrorCode;
}

export interface ScoringJob {
  key: string;
  /** "Scoring <file>", for the progress line. */
  label: string;
  progress?: Progress;
}

export interface QueueState {
  rows: ReadonlyMap<string, ScoreRow>;
  job: ScoringJob | null;
  paused: boolean;
}

/** What the queue scores next from; the page passes it on every change. */
export interface QueueInputs {
  /** Engine started, weights loaded and none loading. */
  ready: boolean;
  weights: Pick<WeightsInfo, 'id' | 'label' | 'sha256' | 'demo'> | null;
  /** Test clips that are decoded, in the order they were added. */
  clips: readonly { id: string; name: string }[];
  refId: string | null;
  /** The reference's file name ("zero vector" for none). */
  refName: string;
  /** The reference clip is decoded (always true for the zero vector). */
  refReady: boolean;
  windows: WindowOptions;
}

/** Scores one clip: the worker's `score` request (a fake in tests). */
export type ScoreFn = (
  req: { clipId: string; refId: string | null; windows: WindowOptions },
  opts: { signal: AbortSignal; onProgress: (p: Progress) => void },
) => Promise<ScoreResult>;

export const keyOf = (clipId: string, refId: string | null, weightsId: string) =>
  `${clipId}|${refId ?? 'zero'}|${weightsId}`;

export class ScoringQueue {
  private state: QueueState = { rows: new Map(), job: null, paused: false };
  private inputs: QueueInputs | null = null;
  private abort: AbortController | null = null;
  private listeners = new Set<() => void>();

  constructor(private readonly score: ScoreFn) {}

  /** The current state; a new object after every change (for useSyncExternalStore). */
  get snapshot(): QueueState {
    return this.state;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** New inputs: starts the next job when nothing runs. */
  update(inputs: QueueInputs): void {
    this.inputs = inputs;
    this.pump();
  }

  /** Stops scoring: the running job is cancelled (its row says so) and nothing starts until resume. */
  pause(): void {
    // paused before the abort lands, so a Resume clicked before the worker answers is not undone
    this.set({ paused: true });
    this.abort?.abort();
  }

  /** Scores again, starting with the files a pause cancelled. */
  resume(): void {
    this.set({ paused: false, rows: this.without((r) => r.code === 'cancelled') });
    this.pump();
  }

  /** Scores one row's file again (after an error). */
  rescore(key: string): void {
    this.set({ paused: false, rows: this.without((r) => r.key === key) });
    this.pump();
  }

  /**
   * New window settings: forgets the rows of these clips (except the one being scored) and scores
   * them again under `windows`, which apply from now on; resumes.
   */
  newWindows(windows: WindowOptions, clipIds: ReadonlySet<string>): void {
    if (this.inputs) this.inputs = { ...this.inputs, windows };
    const running = this.state.job?.key;
    this.set({ paused: false, rows: this.without((r) => clipIds.has(r.clipId) && r.key !== running) });
    this.pump();
  }

  private without(drop: (r: ScoreRow) => boolean): Map<string, ScoreRow> {
    return new Map([...this.state.rows].filter(([, r]) => !drop(r)));
  }

  private set(patch: Partial<QueueState>) {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
  }

  private pump() {
    const i = this.inputs;
    const s = this.state;
    if (!i || !i.ready || !i.weights || s.paused || s.job) return;
    if (i.refId && !i.refReady) return;
    const w = i.weights;
    const next = i.clips.find((c) => !s.rows.has(keyOf(c.id, i.refId, w.id)));
    if (!next) return;
    const key = keyOf(next.id, i.refId, w.id);
    const base: ScoreRow = {
      key,
      clipId: next.id,
      refId: i.refId,
      refName: i.refName,
      weightsLabel: w.label,
      weightsSha256: w.sha256,
      demo: w.demo,
    };
    const label = `Scoring ${next.name}`;
    const ac = new AbortController();
    this.abort = ac;
    const windows = i.windows;
    this.set({ job: { key, label } });
    this.score(
      { clipId: next.id, refId: i.refId, windows },
      {
        signal: ac.signal,
        onProgress: (progress) => {
          if (this.state.job?.key === key) this.set({ job: { key, label, progress } });
        },
      },
    ).then(
      (result) => this.finish(key, { ...base, result }),
      (e: Error) => {
        const code = e instanceof WorkerError ? e.code : 'failed';
        // the worker died: its restart decodes the clips again and scoring picks up from there
        if (code === 'crashed') return this.finish(key, null);
        // resumed before the cancel landed: no row, so the file is scored again
        if (code === 'cancelled' && !this.state.paused) return this.finish(key, null);
        const error =
          code === 'cancelled'
            ? 'Cancelled'
            : code === 'out-of-memory'
              ? `${e.message[0].toUpperCase()}${e.message.slice(1)}. ${outOfMemoryAdvice(windows, 'page')}`
              : e.message;
        this.finish(key, { ...base, error, code });
      },
    );
  }

  private finish(key: string, row: ScoreRow | null) {
    this.abort = null;
    this.set({ job: null, rows: row ? new Map(this.state.rows).set(key, row) : this.state.rows });
    this.pump();
  }
}
