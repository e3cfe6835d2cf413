import type { Evaluation } from '../analysis/evaluate';
import type { LabelSet } from '../analysis/labels';
import { DetChart, HistogramChart } from './Charts';

// Labelled evaluation of the current results: load a protocol or CSV, see EER, minDCF, the DET
// curve, score histograms and counts per attack, and which files or labels did not match.

export interface LoadedLabels {
  name: string;
  set: LabelSet;
}

/** Up to 12 names, then how many more. */
const list = (xs: string[]) =>
  xs.length > 12 ? `${xs.slice(0, 12).join(', ')} and ${xs.length - 12} more` : xs.join(', ');
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const FORMAT = {
  asvspoof5: 'ASVspoof 5 protocol',
  asvspoof2019: 'ASVspoof 2019 protocol',
  list: 'file and key list',
  csv: 'CSV',
};

export function EvaluationPanel(props: {
  labels: LoadedLabels | null;
  error: string | null;
  evaluation: Evaluation | null;
  demo: boolean;
  onFile: (f: File) => void;
  onClear: () => void;
}) {
  const { labels, error, evaluation: e } = props;
  const unlabelled = list(e?.unlabelledFiles ?? []);
  const unmatched = list(e?.unmatchedLabels ?? []);
  return (
    <section className="panel evaluation-panel" aria-labelledby="eval-h" data-testid="evaluation">
      <h2 id="eval-h">Labelled evaluation</h2>
      <p className="muted">
        Labels for the dropped files: an ASVspoof 5 (or 2019 LA) protocol file, or a CSV of file name and
        bonafide/spoof. Files and labels are matched by name without extension. You can also drop the labels file with
        the audio.
      </p>
      <div className="row">
        <label className="file-button">
          Load labels…
          <input
            type="file"
            data-testid="labels-input"
            accept=".csv,.tsv,.txt,text/csv,text/plain"
            onChange={(ev) => {
              const f = ev.target.files?.[0];
              ev.target.value = '';
              if (f) props.onFile(f);
            }}
          />
        </label>
        {labels && (
          <span data-testid="labels-name">
            {labels.name}: {labels.set.labels.size} labels ({FORMAT[labels.set.format]})
          </span>
        )}
        {labels && (
          <button type="button" onClick={props.onClear}>
            Remove labels
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {e && (
        <>
          {e.metrics ? (
            <p className="metrics">
              EER{' '}
              <strong data-testid="eer" data-value={String(e.metrics.eer)}>
                {pct(e.metrics.eer)}
              </strong>{' '}
              (threshold {e.metrics.eerThreshold.toFixed(4)}), minDCF{' '}
              <strong data-testid="min-dcf" data-value={String(e.metrics.minDcf)}>
                {e.metrics.minDcf.toFixed(4)}
              </strong>{' '}
              (ASVspoof 5 costs: Ptar 0.95, Cmiss 1, Cfa 10), over{' '}
              <span data-testid="eval-counts">
                {e.nBonafide} bona fide and {e.nSpoof} spoof
              </span>{' '}
              files.
              {props.demo && <strong className="demo-tag"> Demo weights: these figures carry no meaning.</strong>}
            </p>
          ) : (
            <p className="notice" data-testid="eval-problem">
              {e.problem}
            </p>
          )}
          {unlabelled && (
            <p className="muted" data-testid="unlabelled">
              Scored files without a label (left out): {unlabelled}
            </p>
          )}
          {e.sharedIds.length > 0 && (
            <p className="notice" data-testid="shared-ids">
              Several files have the same name (without extension) and share one label; each is counted:{' '}
              {list(e.sharedIds)}
            </p>
          )}
          {unmatched && (
            <p className="muted" data-testid="unmatched">
              Labels with no scored file ({e.unmatchedLabels.length}): {unmatched}
            </p>
          )}
          {e.metrics && (
            <div className="charts">
              <DetChart e={e} />
              <HistogramChart e={e} />
            </div>
          )}
          {e.attacks.length > 0 && (
            <table className="attacks">
              <thead>
                <tr>
                  <th scope="col">Attack</th>
                  <th scope="col">Tags</th>
                  <th scope="col">Files</th>
                  <th scope="col">EER vs all bona fide</th>
                </tr>
              </thead>
              <tbody>
                {e.attacks.map((a) => (
                  <tr key={a.attack} data-testid="attack-row">
                    <th scope="row">{a.attack}</th>
                    <td data-label="Tags">{a.tags}</td>
                    <td data-label="Files">{a.n}</td>
                    <td data-label="EER vs all bona fide">{a.eer == null ? '' : pct(a.eer)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
