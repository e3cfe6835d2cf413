import { useCallback, useMemo, useState } from 'react';
import { version as APP_VERSION } from '../../package.json';
import type { ReportContext } from '../analysis/result';
import { DEFAULT_WINDOWS, type WindowOptions, needsWindows } from '../analysis/windows';
import { SAMPLE_RATE } from '../model/config';
import { type PickedFile, sortPicked } from './batch-files';
import { ConditionsPanel } from './ConditionsPanel';
import { EnginePanel } from './EnginePanel';
import { EvaluationPanel } from './EvaluationPanel';
import { type Clip, useClips } from './hooks/useClips';
import { useDropFiles } from './hooks/useDropFiles';
import { useEngine } from './hooks/useEngine';
import { useLabels } from './hooks/useLabels';
import { type StretchScore, useResultRows } from './hooks/useResultRows';
import { useScoringQueue } from './hooks/useScoringQueue';
import { useWeights } from './hooks/useWeights';
import { ReferencePanel } from './ReferencePanel';
import { ResultsPanel } from './ResultsPanel';
import { keyOf } from './scoring-queue';
import { SuspectPanel } from './SuspectPanel';
import type { Span } from './Waveform';

// The page: weights, test clips, reference, results. All model work happens in the worker; the
// hooks keep the user's clips and results here, so a restarted worker loses nothing.

export function App() {
  const engine = useEngine(async (restarted) => {
    await weights.loadCurrent();
    // the new worker holds no audio: every clip is decoded again before anything is scored
    if (restarted) clips.decodeAgain();
  });
  const weights = useWeights(engine.client);
  const clips = useClips(engine.client);
  const labels = useLabels();
  const [skipped, setSkipped] = useState<string[]>([]);
  const [windows, setWindows] = useState<WindowOptions>(DEFAULT_WINDOWS);

  const refClip = clips.refs.find((c) => c.id === clips.refId);
  const info = weights.info;
  const ready = engine.status === 'ready' && !!info && !weights.busy;
  const decodedTests = useMemo(
    () => clips.all.filter((c) => c.role === 'test' && c.status === 'ready').map((c) => ({ id: c.id, name: c.name })),
    [clips.all],
  );
  const queueInputs = useMemo(
    () => ({
      ready,
      weights: info,
      clips: decodedTests,
      refId: clips.refId,
      refName: refClip?.name ?? 'zero vector',
      refSha256: refClip?.sha256 ?? null,
      refReady: !clips.refId || refClip?.status === 'ready',
      windows,
      focusId: clips.shown?.id ?? null,
    }),
    [ready, info, decodedTests, clips.refId, refClip, windows, clips.shown?.id],
  );
  const scoring = useScoringQueue(engine.client, queueInputs);
  /** Stretches scored on their own ("Score this stretch"), by row key: rows of the table like any score. */
  const [stretches, setStretches] = useState<ReadonlyMap<string, StretchScore>>(() => new Map());
  const results = useResultRows(scoring.rows, stretches, clips.all, info, refClip, labels.loaded, scoring.rescore);

  /** New window settings: results of files windowed under the old or the new settings are scored again. */
  const applyWindows = (next: WindowOptions) => {
    const windowed = (c: Clip) =>
      !!c.info &&
      (needsWindows(c.info.samples, SAMPLE_RATE, windows) || needsWindows(c.info.samples, SAMPLE_RATE, next));
    setWindows(next);
    scoring.newWindows(next, new Set(clips.all.filter(windowed).map((c) => c.id)));
  };

  /** Dropped or picked files and folders: audio to the batch, a labels file to the evaluation. */
  const { add: addClips } = clips;
  const { load: loadLabels } = labels;
  const { prioritize } = scoring;
  const { select } = clips;
  /**
   * New test clips. A single one (a recording, a one-file drop) is what the user wants to see: it is
   * scored ahead of a running batch and becomes the clip in view (the list scrolls to it).
   */
  const addTests = useCallback(
    (files: (File | PickedFile)[]) => {
      const ids = addClips(files, 'test');
      if (ids.length === 1) {
        prioritize(ids[0]);
        select(ids[0]);
      }
    },
    [addClips, prioritize, select],
  );
  const onRecorded = useCallback((f: File) => addTests([f]), [addTests]);
  const onPicked = useCallback(
    (picked: PickedFile[]) => {
      const sorted = sortPicked(picked);
      setSkipped(sorted.skipped);
      if (sorted.labels.length) void loadLabels(sorted.labels[sorted.labels.length - 1]);
      addTests(sorted.audio);
    },
    [addTests, loadLabels],
  );
  const dragging = useDropFiles(onPicked);

  const shown = clips.shown;
  const { rows: scores } = scoring;
  const refId = clips.refId;
  const weightsId = info?.id;
  const scoreOf = useCallback(
    (clipId: string) => (weightsId ? scores.get(keyOf(clipId, refId, weightsId)) : undefined),
    [scores, refId, weightsId],
  );
  /**
   * A stretch of a clip, scored under the current reference, weights and window settings, and kept
   * as a row of the table (and of every export) with its span; scoring the same stretch under the
   * same choice again replaces its row.
   */
  const { client } = engine;
  const refName = refClip?.name ?? 'zero vector';
  const refSha256 = refClip?.sha256 ?? null;
  const weightsLabel = info?.label ?? '';
  const weightsSha256 = info?.sha256 ?? null;
  const demo = !!info?.demo;
  const scoreSpan = useCallback(
    async (clipId: string, span: Span, signal: AbortSignal) => {
      const result = await client.request('score', { clipId, refId, windows, span }, { signal });
      if (weightsId) {
        const row: StretchScore = {
          key: `stretch|${keyOf(clipId, refId, weightsId)}|${span.start}|${span.end}`,
          clipId,
          span: { start: span.start, end: span.end },
          refId,
          refName,
          refSha256,
          weightsId,
          weightsLabel,
          weightsSha256,
          demo,
          windows,
          scoredAt: new Date().toISOString(),
          result,
        };
        setStretches((m) => new Map(m).set(row.key, row));
      }
      return result;
    },
    // a new reference, weights or window settings make a new function, which marks the waveform's
    // earlier stretch result as stale
    [client, refId, windows, weightsId, refName, refSha256, weightsLabel, weightsSha256, demo],
  );
  const reportContext = (): ReportContext => ({
    appVersion: APP_VERSION,
    date: new Date().toISOString(),
    evaluation: results.evaluation,
  });

  return (
    <div className={`app${dragging ? ' dragging' : ''}`}>
      <header>
        <h1>RAT audio deepfake detector</h1>
        <p className="privacy">
          Runs entirely in this browser. Your audio never leaves this machine: the page makes no network requests beyond
          its own files, and has no analytics.
        </p>
      </header>

      {info?.demo && (
        <p className="banner" role="alert">
          <strong>Demo weights: untrained, scores carry no meaning.</strong> Load the real RAT weights to get meaningful
          scores.
        </p>
      )}
      {engine.notice && (
        <p className="notice" role="status">
          {engine.notice}{' '}
          <button type="button" onClick={engine.dismissNotice}>
            Dismiss
          </button>
        </p>
      )}
      {engine.fatal && (
        <p className="error" role="alert" data-testid="error">
          {engine.fatal}
        </p>
      )}

      <EnginePanel engine={engine} weights={weights} />
      <SuspectPanel
        clips={clips}
        dragging={dragging}
        onPicked={onPicked}
        onRecorded={onRecorded}
        queue={scoring}
        scoreOf={scoreOf}
        scoreSpan={scoreSpan}
        skipped={skipped}
        windows={windows}
        onWindows={applyWindows}
        demo={!!info?.demo}
      />
      <ResultsPanel
        scoring={scoring}
        results={results}
        total={clips.tests.length}
        showLabels={!!labels.loaded}
        context={reportContext}
      />
      <ReferencePanel clips={clips} refClip={refClip} />
      <ConditionsPanel
        client={engine.client}
        ready={ready && refClip?.status !== 'decoding' && !clips.all.some((c) => c.status === 'decoding')}
        test={shown && shown.status === 'ready' ? { id: shown.id, name: shown.name } : null}
        matched={refClip ? { id: refClip.id, name: refClip.name, status: refClip.status } : null}
        candidates={clips.all
          .filter((c) => c.status === 'ready' && c.id !== shown?.id && c.id !== refClip?.id)
          .map((c) => ({ id: c.id, name: c.name }))}
        weightsId={info?.id ?? null}
        demo={!!info?.demo}
        maxSeconds={Math.max(windows.limitSeconds, windows.singlePassMaxSeconds)}
      />
      <EvaluationPanel
        labels={labels.loaded}
        error={labels.error}
        evaluation={results.evaluation}
        demo={!!info?.demo}
        onFile={(f) => void labels.load(f)}
        onClear={labels.clear}
      />
    </div>
  );
}
