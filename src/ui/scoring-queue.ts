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
  /** SHA-256 of the reference file's bytes; null for the zero vector. */
  refSha256: string | null;
  weightsLabel: string;
  weightsSha256: string | null;
  demo: boolean;
  /** The window settings it was scored under. */
  windows: WindowOptions;
  /** ISO 8601 date-time the score (or the failure) came back. */
  scoredAt?: string;
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
  /** Clips to score under the current reference and weights, in the order they will be (the running one not included). */
  queued: readonly string[];
  /** Clips already scored under another reference or weights: scored under these only after approve(). */
  awaiting: readonly string[];
  /** What the queued clips wait for, when nothing can start: the engine (or weights), the reference clip, a pause. */
  blocked: 'engine' | 'reference' | 'paused' | null;
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
  /** SHA-256 of the reference file's bytes (null for none, or not yet read). */
  refSha256: string | null;
  /** The reference clip is decoded (always true for the zero vector). */
  refReady: boolean;
  windows: WindowOptions;
  /** The clip in view: scored first under a new reference or weights. */
  focusId: string | null;
}

/** Scores one clip: the worker's `score` request (a fake in tests). */
export type ScoreFn = (
  req: { clipId: string; refId: string | null; windows: WindowOptions },
  opts: { signal: AbortSignal; onProgress: (p: Progress) => void },
) => Promise<ScoreResult>;

export const keyOf = (clipId: string, refId: string | null, weightsId: string) =>
  `${clipId}|${refId ?? 'zero'}|${weightsId}`;

const comboOf = (refId: string | null, weightsId: string) => `${refId ?? 'zero'}|${weightsId}`;

/**
 * The page's scoring scheduler. New files are scored as they come, a single new file (a recording,
 * a one-file drop) ahead of a running batch; a new reference or new weights score the clip in view
 * at once and the rest of the batch only when the user says so (approve), since a batch can take
 * minutes.
 */
export class ScoringQueue {
  private state: QueueState = {
    rows: new Map(),
    job: null,
    paused: false,
    queued: [],
    awaiting: [],
    blocked: 'engine',
  };
  private inputs: QueueInputs | null = null;
  /** Reference and weights combinations the whole batch may be scored under. */
  private approved = new Set<string>();
  /** Clips to score before the others, most recent first. */
  private priority: string[] = [];
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
    // the first reference and weights a batch meets need no approval: nothing was scored before
    if (inputs.weights && !this.state.rows.size && !this.state.job)
      this.approved.add(comboOf(inputs.refId, inputs.weights.id));
    this.set({});
    this.pump();
  }

  /** Scores the whole batch under the current reference and weights. */
  approve(): void {
    const i = this.inputs;
    if (!i?.weights) return;
    this.approved.add(comboOf(i.refId, i.weights.id));
    this.set({});
    this.pump();
  }

  /** Scores this clip next, ahead of the batch (after the file being scored). */
  prioritize(clipId: string): void {
    this.priority = [clipId, ...this.priority.filter((id) => id !== clipId)];
    this.set({});
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

  /** Applies `patch` and the plan that follows from it; listeners hear of it only when something changed. */
  private set(patch: Partial<QueueState>) {
    const next = { ...this.state, ...patch };
    const plan = this.plan(next);
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const old = this.state;
    if (
      !Object.keys(patch).length &&
      plan.blocked === old.blocked &&
      same(plan.queued, old.queued) &&
      same(plan.awaiting, old.awaiting)
    )
      return;
    this.state = { ...next, ...plan };
    this.listeners.forEach((l) => l());
  }

  /** Which clips are queued (in order), which await approval, and what blocks the queue. */
  private plan(s: QueueState): Pick<QueueState, 'queued' | 'awaiting' | 'blocked'> {
    const i = this.inputs;
    const w = i?.weights;
    if (!i || !w) return { queued: i?.clips.map((c) => c.id) ?? [], awaiting: [], blocked: 'engine' };
    const running = s.job?.key;
    const pending = i.clips.filter((c) => {
      const key = keyOf(c.id, i.refId, w.id);
      return !s.rows.has(key) && key !== running;
    });
    const approved = this.approved.has(comboOf(i.refId, w.id));
    const scoredBefore = new Set([...s.rows.values()].map((r) => r.clipId));
    const now = (id: string) => approved || !scoredBefore.has(id) || id === i.focusId || this.priority.includes(id);
    const rank = (id: string) => {
      const p = this.priority.indexOf(id);
      return p >= 0 ? p : id === i.focusId ? this.priority.length : this.priority.length + 1;
    };
    const queued = pending
      .filter((c) => now(c.id))
      .map((c, order) => ({ id: c.id, rank: rank(c.id), order }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order)
      .map((c) => c.id);
    const blocked = !i.ready ? 'engine' : s.paused ? 'paused' : i.refId && !i.refReady ? 'reference' : null;
    return { queued, awaiting: pending.filter((c) => !now(c.id)).map((c) => c.id), blocked };
  }

  private pump() {
    const i = this.inputs;
    const s = this.state;
    if (!i || !i.weights || s.job || s.blocked || !s.queued.length) return;
    const w = i.weights;
    const next = i.clips.find((c) => c.id === s.queued[0])!;
    this.priority = this.priority.filter((id) => id !== next.id);
    const key = keyOf(next.id, i.refId, w.id);
    const base: ScoreRow = {
      key,
      clipId: next.id,
      refId: i.refId,
      refName: i.refName,
      refSha256: i.refSha256,
      weightsLabel: w.label,
      weightsSha256: w.sha256,
      demo: w.demo,
      windows: i.windows,
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
      (result) => this.finish(key, { ...base, scoredAt: new Date().toISOString(), result }),
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
        this.finish(key, { ...base, scoredAt: new Date().toISOString(), error, code });
      },
    );
  }

  private finish(key: string, row: ScoreRow | null) {
    this.abort = null;
    this.set({ job: null, rows: row ? new Map(this.state.rows).set(key, row) : this.state.rows });
    this.pump();
  }
}
