import { useEffect, useMemo, useRef, useState } from 'react';
import { DEFAULT_SEED, PAPER_FINDING, PAPER_RATIO, conditionsFinding } from '../analysis/conditions';
import type { ConditionResult } from '../analysis/run-conditions';
import { type Progress, WorkerError } from '../worker/protocol';
import { ConditionsPChart, ConditionsRatioChart } from './Charts';
import type { InferenceClient } from './inference-client';

// Teaching panel: one test clip under every reference condition of the paper, P(bona fide) per
// condition and, per layer, how large the attention branch (the reference channel) is next to the
// MLP branch. The noise is seeded, so a rerun gives the same numbers.

export interface ClipRef {
  id: string;
  name: string;
  /** Where the clip's decoding stands (a clip without one counts as ready). */
  status?: 'decoding' | 'ready' | 'error';
}

export interface ConditionsPanelProps {
  client: InferenceClient;
  /** The test clip the conditions run on (the one shown), or null. */
  test: ClipRef | null;
  /** The chosen reference (the matched condition) whatever its state, or null for the zero vector. */
  matched: ClipRef | null;
  /** Clips that can stand in for a different speaker. */
  candidates: ClipRef[];
  /** Weights in use: results from other weights are dropped. */
  weightsId: string | null;
  demo: boolean;
  /** Whether the engine can take work now. */
  ready: boolean;
  /** Longest clip scored in one pass (the window settings' whole-file limit), in seconds. */
  maxSeconds: number;
}

interface Run {
  test: string;
  matchedId: string | null;
  matched: string | null;
  mismatched: string | null;
  seed: number;
  results: ConditionResult[];
}

export function ConditionsPanel({
  client,
  test,
  matched,
  candidates,
  weightsId,
  demo,
  ready,
  maxSeconds,
}: ConditionsPanelProps) {
  const [mismatchedId, setMismatchedId] = useState('');
  const [seed, setSeed] = useState(String(DEFAULT_SEED));
  const [run, setRun] = useState<Run | null>(null);
  const [runs, setRuns] = useState(0);
  const [busy, setBusy] = useState<{ progress?: Progress; cancel: () => void } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const acRef = useRef<AbortController | null>(null);
  const mismatched = candidates.find((c) => c.id === mismatchedId) ?? null;
  // the choice stands while its clip decodes or fails: the panel says so rather than "none"
  const refState = matched?.status ?? 'ready';

  useEffect(() => {
    setRun(null);
  }, [weightsId]);
  useEffect(() => () => acRef.current?.abort(), []); // leaving the page section cancels the work

  const start = async () => {
    if (!test) return;
    const s = Number(seed);
    if (!Number.isInteger(s)) {
      setError(`The seed must be a whole number (got "${seed}").`);
      return;
    }
    setError(null);
    const ac = new AbortController();
    acRef.current = ac;
    setBusy({ cancel: () => ac.abort() });
    try {
      const results = await client.request(
        'conditions',
        { clipId: test.id, refId: matched?.id ?? null, mismatchedId: mismatched?.id ?? null, seed: s, maxSeconds },
        {
          signal: ac.signal,
          onProgress: (progress) => setBusy({ progress, cancel: () => ac.abort() }),
        },
      );
      setRun({
        test: test.name,
        matchedId: matched?.id ?? null,
        matched: matched?.name ?? null,
        mismatched: mismatched?.name ?? null,
        seed: s,
        results,
      });
      setRuns((n) => n + 1);
    } catch (e) {
      const code = e instanceof WorkerError ? e.code : 'failed';
      setError(
        code === 'cancelled'
          ? 'Cancelled: no condition results were kept.'
          : `The conditions could not run: ${(e as Error).message}`,
      );
    } finally {
      setBusy(null);
      acRef.current = null;
    }
  };

  const ran = useMemo(() => run?.results.filter((r) => r.pBonafide !== undefined) ?? [], [run]);
  const finding = useMemo(() => (run ? conditionsFinding(run.results, { demo }) : null), [run, demo]);
  const stale = run !== null && run.matchedId !== (matched?.id ?? null);

  const meanRatio = (r: ConditionResult) => r.attnRms!.reduce((a, v, l) => a + v / r.mlpRms![l], 0) / r.attnRms!.length;

  return (
    <section className="panel conditions-panel" aria-labelledby="cond-h" data-testid="conditions" data-runs={runs}>
      <h2 id="cond-h">Reference conditions (for teaching)</h2>
      <p className="muted" data-testid="conditions-intro">
        RAT compares the test clip with a reference recording through an attention branch. {PAPER_FINDING} One click
        runs the test clip under each condition the paper tried.
      </p>
      <div className="row">
        <span>
          Test clip: <strong data-testid="conditions-test">{test?.name ?? 'none: add suspect audio first'}</strong>
        </span>
        <span>
          Matched reference:{' '}
          <strong data-testid="conditions-matched" data-state={matched ? refState : 'none'}>
            {matched
              ? `${matched.name}${refState === 'decoding' ? ' (decoding…)' : refState === 'error' ? ' (cannot be read: choose another)' : ''}`
              : 'none chosen, so the zero vector (choose a reference clip above)'}
          </strong>
        </span>
      </div>
      <div className="row">
        <label className="select-label">
          Mismatched reference (another speaker)
          <select
            value={mismatched ? mismatchedId : ''}
            onChange={(e) => setMismatchedId(e.target.value)}
            data-testid="mismatched-select"
          >
            <option value="">none</option>
            {candidates.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Noise seed{' '}
          <input
            type="number"
            step={1}
            value={seed}
            onChange={(e) => setSeed(e.target.value)}
            style={{ width: '7rem' }}
            data-testid="seed"
          />
        </label>
        <button
          type="button"
          className="primary"
          disabled={!test || !ready || !!busy || refState !== 'ready'}
          onClick={() => void start()}
        >
          Run all conditions
        </button>
      </div>
      {busy && (
        <div className="progress" role="status">
          <span>
            Conditions:{' '}
            {busy.progress?.total
              ? `${busy.progress.done} of ${busy.progress.total} done${busy.progress.label ? `, running ${busy.progress.label}` : ''}`
              : 'queued: starts when the engine finishes the file it is scoring'}
          </span>
          <progress max={busy.progress?.total ?? 1} value={busy.progress?.total ? busy.progress.done : undefined} />
          <button type="button" onClick={busy.cancel}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {run && (
        <>
          <p className="muted small" data-testid="conditions-inputs">
            {run.test} with matched reference {run.matched ?? '(none)'}, mismatched {run.mismatched ?? '(none)'}, noise
            seed {run.seed}.
            {demo && <strong className="demo-tag"> Demo weights: these scores carry no meaning.</strong>}
          </p>
          {stale && (
            <p className="notice" data-testid="conditions-stale">
              The reference has changed since this run (now {matched ? matched.name : 'the zero vector'}): run the
              conditions again to see it.
            </p>
          )}
          <div className="table-wrap">
            <table className="conditions-table">
              <thead>
                <tr>
                  <th scope="col">Condition</th>
                  <th scope="col">What it means</th>
                  <th scope="col">P(bona fide)</th>
                  <th scope="col">Attention / MLP (mean over layers)</th>
                </tr>
              </thead>
              <tbody>
                {run.results.map((r) => (
                  <tr key={r.id} data-testid="condition-row" data-id={r.id}>
                    <th scope="row">{r.label}</th>
                    <td className="small" data-label="What it means">
                      {r.caption}
                    </td>
                    {r.pBonafide !== undefined ? (
                      <>
                        <td data-testid="condition-p" data-label="P(bona fide)" data-value={String(r.pBonafide)}>
                          {r.pBonafide.toFixed(4)}
                        </td>
                        <td
                          data-testid="condition-ratio"
                          data-label="Attention / MLP (mean over layers)"
                          data-value={String(meanRatio(r))}
                        >
                          {meanRatio(r).toFixed(4)}
                        </td>
                      </>
                    ) : (
                      <td colSpan={2} className="muted" data-testid="condition-unavailable" data-label="P(bona fide)">
                        Not run: {r.unavailable}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {finding && (
            <div
              className={`conditions-finding ${finding.paperLike ? 'notice' : 'warning'}`}
              data-testid="conditions-finding"
              data-paper-like={String(finding.paperLike)}
            >
              <p>{finding.score}</p>
              {finding.ratio && <p>{finding.ratio}</p>}
              {finding.why && <p>{finding.why}</p>}
            </div>
          )}
          {ran.length > 0 && (
            <div className="chart-pair">
              <figure>
                <ConditionsPChart results={ran} />
                <figcaption className="small muted">
                  P(bona fide) per condition with the weights loaded; the dashed line is the 0.5 decision point. Bars
                  that barely differ mean the reference hardly matters to these weights.
                </figcaption>
              </figure>
              <figure>
                <ConditionsRatioChart results={ran} />
                <figcaption className="small muted">
                  Per layer, how strong the reference channel (attention) is next to the MLP branch, on a log scale: one
                  line per condition, each with its own marker shape and dash. The dashed red line is the paper's
                  trained model, near {PAPER_RATIO} on every layer.
                </figcaption>
              </figure>
            </div>
          )}
        </>
      )}
    </section>
  );
}
