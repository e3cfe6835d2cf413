import type { ReportContext } from '../analysis/result';
import { BusyBar } from './BusyBar';
import { ExportBar } from './ExportBar';
import type { ResultRows } from './hooks/useResultRows';
import type { Scoring } from './hooks/useScoringQueue';
import { ResultsTable } from './ResultsTable';

interface Props {
  scoring: Scoring;
  results: ResultRows;
  /** Test clips in the batch. */
  total: number;
  showLabels: boolean;
  context: () => ReportContext;
}

/** The scoring in progress, the batch, the table of every result and its exports. */
export function ResultsPanel({ scoring, results, total, showLabels, context }: Props) {
  const { job, paused } = scoring;
  const done = results.done;
  const rows = results.shown;
  return (
    <section className="panel" aria-labelledby="res-h" aria-live="polite">
      <h2 id="res-h">Results</h2>
      {/* cancelling pauses: the file's row says Cancelled, and Resume scores it again */}
      {job && <BusyBar busy={{ label: job.label, progress: job.progress, cancel: scoring.pause }} idle="queued" />}
      {paused && (
        <p className="notice">
          Scoring is paused.{' '}
          <button type="button" onClick={scoring.resume}>
            Resume
          </button>
        </p>
      )}
      {scoring.awaiting.length > 0 && (
        <p className="notice" data-testid="awaiting">
          {scoring.awaiting.length} file{scoring.awaiting.length > 1 ? 's were' : ' was'} scored under another reference
          or weights; the file in view is scored under the current ones first.{' '}
          <button type="button" data-testid="approve-batch" onClick={scoring.approve}>
            Score all {scoring.awaiting.length} under this choice
          </button>
        </p>
      )}
      {total > 1 && (
        <div className="progress" role="status" data-testid="batch-status">
          <span>
            Batch: <strong data-testid="batch-done">{done}</strong> of{' '}
            <strong data-testid="batch-total">{total}</strong> files done
          </span>
          <progress data-testid="batch-progress" max={total} value={done} />
          {done < total && !paused && (job || scoring.queued.length > 0) && (
            <button type="button" onClick={scoring.pause}>
              Stop batch
            </button>
          )}
        </div>
      )}
      {rows.length === 0 && !job && <p className="muted">Scores appear here as soon as a clip is loaded.</p>}
      {results.restoredCount > 0 && (
        <p className="muted" data-testid="restored">
          {results.restoredCount} result{results.restoredCount > 1 ? 's' : ''} from an earlier visit (kept in this
          browser only).{' '}
          <button type="button" onClick={() => void results.forgetSaved()}>
            Forget saved results
          </button>
        </p>
      )}
      {rows.length > 0 && (
        <>
          <ResultsTable rows={rows} showLabels={showLabels} />
          <ExportBar rows={results.exported} context={context} />
        </>
      )}
      <p className="muted small">
        P(bona fide) is the model's probability that the speech is genuine; the verdict splits at 0.5 as the original
        code does. One score is evidence, not proof.
      </p>
    </section>
  );
}
