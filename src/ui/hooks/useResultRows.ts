import { useMemo } from 'react';
import { type Evaluation, evaluate } from '../../analysis/evaluate';
import { fileId } from '../../analysis/labels';
import { type ResultRow, type Span, stretchName } from '../../analysis/result';
import { verdictOf } from '../../analysis/verdict';
import type { ScoreResult, WeightsInfo } from '../../worker/protocol';
import type { LoadedLabels } from '../EvaluationPanel';
import type { TableRow } from '../ResultsTable';
import { type ScoreRow, keyOf } from '../scoring-queue';
import { usePersistedRows } from '../usePersistedRows';
import type { Clip } from './useClips';

/**
 * A stretch of a clip scored on its own (the waveform's "Score this stretch"): evidence like any
 * other score, so a row of the table and of every export, named by stretchName and carrying its span.
 */
export type StretchScore = ScoreRow & { span: Span; weightsId: string; result: ScoreResult };

export interface ResultRows {
  /** Every row the table shows: restored rows from earlier visits, then this visit's. */
  shown: TableRow[];
  /** The same rows as the exports write them. */
  exported: ResultRow[];
  restoredCount: number;
  forgetSaved: () => Promise<void>;
  evaluation: Evaluation | null;
  /** Test clips finished (scored or failed) under the current reference and weights. */
  done: number;
}

/**
 * The scores the labelled evaluation takes: the ones the table shows under the current reference and
 * weights, and restored ones for files not scored again. Whole-file rows only: EER and minDCF are
 * over files, and a stretch's score is not its file's (it would count the file twice, the second
 * time for part of it), so stretch rows (span) are left out.
 */
export function scoresToEvaluate(
  live: readonly TableRow[],
  restored: readonly TableRow[],
): { file: string; score: number }[] {
  const current = live.filter((r) => r.current && r.pBonafide != null && !r.span);
  const liveFiles = new Set(current.map((r) => r.file));
  const older = restored.filter((r) => r.pBonafide != null && !r.span && !liveFiles.has(r.file));
  return [...current, ...older].map((r) => ({ file: r.file, score: r.pBonafide! }));
}

/**
 * The table's rows from the queue's scores, the stretches scored, the clips and the labels; one
 * source for the table, the exports and the evaluation. A stretch's row follows its file's.
 */
export function useResultRows(
  scores: ReadonlyMap<string, ScoreRow>,
  stretches: ReadonlyMap<string, StretchScore>,
  clips: Clip[],
  weights: WeightsInfo | null,
  ref: Clip | undefined,
  labels: LoadedLabels | null,
  rescore: (key: string) => void,
): ResultRows {
  const refId = ref?.id ?? null;
  const live: TableRow[] = useMemo(() => {
    const byId = new Map(clips.map((c) => [c.id, c]));
    const order = new Map(clips.map((c, i) => [c.id, i]));
    const all: (ScoreRow | StretchScore)[] = [...scores.values(), ...stretches.values()];
    const out: TableRow[] = all
      .sort((a, b) => (order.get(a.clipId) ?? -1) - (order.get(b.clipId) ?? -1))
      .map((r) => {
        const clip = byId.get(r.clipId);
        const p = r.result?.pBonafide ?? null;
        const name = clip?.name ?? '(removed)';
        const span = 'span' in r ? r.span : null;
        return {
          key: r.key,
          current:
            !!weights &&
            ('span' in r
              ? r.refId === refId && r.weightsId === weights.id
              : r.key === keyOf(r.clipId, refId, weights.id)),
          file: span ? stretchName(name, span) : name,
          seconds: span ? span.end - span.start : (clip?.info?.seconds ?? null),
          ...(span ? { span: { ...span } } : {}),
          pBonafide: p,
          pSource: r.result?.pSource,
          logits: r.result?.logits ?? null,
          verdict: p == null ? null : verdictOf(p),
          refMode: r.refId ? 'audio' : 'zero',
          ref: r.refId ? r.refName : null,
          refSha256: r.refSha256,
          weights: { label: r.weightsLabel, sha256: r.weightsSha256, demo: r.demo },
          audioSha256: clip?.sha256 ?? null,
          backend: r.result?.backend,
          elapsedMs: r.result?.elapsedMs,
          windows: r.windows,
          scoredAt: r.scoredAt,
          noSignal: clip?.info?.noSignal,
          timeline: r.result?.timeline ?? null,
          error: r.result ? undefined : r.error,
          cancelled: r.code === 'cancelled',
          onRescore: r.error ? () => rescore(r.key) : undefined,
        };
      });
    // files that could not be decoded are part of the batch too (and of its exports)
    for (const c of clips) {
      if (c.role !== 'test' || c.status !== 'error') continue;
      out.push({
        key: `decode|${c.id}`,
        current: true,
        file: c.name,
        seconds: null,
        pBonafide: null,
        verdict: null,
        refMode: refId ? 'audio' : 'zero',
        ref: ref?.name ?? null,
        refSha256: ref?.sha256 ?? null,
        weights: { label: weights?.label ?? '', sha256: weights?.sha256 ?? null, demo: !!weights?.demo },
        audioSha256: c.sha256 ?? null,
        error: c.error ?? 'could not be decoded',
      });
    }
    return out;
  }, [scores, stretches, clips, weights, refId, ref, rescore]);

  // results from earlier visits come back as older rows; every finished row is kept for the next one
  const { restored, forget: forgetSaved } = usePersistedRows(live);
  const shown = useMemo(() => {
    const rows = restored.length ? [...restored, ...live] : live;
    // restored rows get the loaded labels as live rows do; a stretch is no labelled file (its name carries the span)
    return labels
      ? rows.map((r) => ({ ...r, label: r.span ? null : (labels.set.labels.get(fileId(r.file))?.key ?? null) }))
      : rows;
  }, [restored, live, labels]);

  const evaluation = useMemo(
    () => (labels ? evaluate(scoresToEvaluate(live, restored), labels.set) : null),
    [labels, live, restored],
  );

  const exported = useMemo(
    () => shown.map(({ key: _k, current: _c, onRescore: _r, cancelled: _x, ...r }): ResultRow => r),
    [shown],
  );
  const tests = clips.filter((c) => c.role === 'test');
  // a file whose scoring a pause cancelled is not done: Resume scores it again
  const done = tests.filter((c) => {
    const row = weights && scores.get(keyOf(c.id, refId, weights.id));
    return c.status === 'error' || (row && row.code !== 'cancelled');
  }).length;
  return { shown, exported, restoredCount: restored.length, forgetSaved, evaluation, done };
}
