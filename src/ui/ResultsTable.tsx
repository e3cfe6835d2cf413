import { memo, useMemo, useState } from 'react';
import type { ResultRow } from '../analysis/result';
import { formatTime } from '../analysis/time';
import { VerdictText } from './Verdict';

// The results table: every score the page has produced, sortable by any column and filtered by
// text and verdict. Unsorted, rows keep the order the clips were added in. The weights are named
// once above the table while every row shares them, and in a column of their own only when they differ.

/** A row of the table: an exportable result plus what only the page shows. */
export interface TableRow extends ResultRow {
  key: string;
  /** Produced under the current reference and weights (older rows are greyed). */
  current: boolean;
  /** The scoring was cancelled by a pause (not kept for the next visit). */
  cancelled?: boolean;
  /** The row's error can be retried. */
  onRescore?: () => void;
}

type Col = 'file' | 'seconds' | 'p' | 'ref' | 'weights' | 'label' | 'sha';
type VerdictFilter = 'all' | 'bonafide' | 'spoof' | 'failed';

const VALUE: Record<Col, (r: TableRow) => string | number | null> = {
  file: (r) => r.file,
  seconds: (r) => r.seconds,
  p: (r) => r.pBonafide,
  ref: (r) => (r.refMode === 'zero' ? '' : (r.ref ?? '')),
  weights: (r) => r.weights.label,
  label: (r) => r.label ?? null,
  sha: (r) => r.audioSha256,
};

/** Rows that pass the text and verdict filters, in the chosen order (nulls last either way). */
export function viewRows(
  rows: readonly TableRow[],
  text: string,
  v: VerdictFilter,
  sort: { col: Col; dir: 1 | -1 } | null,
): TableRow[] {
  const q = text.trim().toLowerCase();
  const out = rows.filter((r) => {
    if (v === 'failed' && !r.error) return false;
    if ((v === 'bonafide' || v === 'spoof') && r.verdict !== v) return false;
    if (!q) return true;
    return [r.file, r.ref, r.weights.label, r.audioSha256, r.label, r.error].some((s) => s?.toLowerCase().includes(q));
  });
  if (!sort) return out;
  const get = VALUE[sort.col];
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const x = get(a.r);
      const y = get(b.r);
      if (x == null || y == null) return x == null && y == null ? a.i - b.i : x == null ? 1 : -1;
      const c =
        typeof x === 'number' && typeof y === 'number'
          ? x - y
          : String(x).localeCompare(String(y), 'en', { numeric: true });
      return c ? c * sort.dir : a.i - b.i;
    })
    .map((x) => x.r);
}

const sameWeights = (a: ResultRow['weights'], b: ResultRow['weights']) =>
  a.label === b.label && a.sha256 === b.sha256 && a.demo === b.demo;

/** The weights every row was scored with; null when they differ (or there are no rows). */
export function sharedWeights(rows: readonly TableRow[]): ResultRow['weights'] | null {
  const first = rows[0]?.weights;
  return first && rows.every((r) => sameWeights(r.weights, first)) ? first : null;
}

/** Memoised: the page re-renders on every progress message, the table only when its rows change. */
export const ResultsTable = memo(function ResultsTable({
  rows,
  showLabels,
}: {
  rows: readonly TableRow[];
  showLabels: boolean;
}) {
  const [text, setText] = useState('');
  const [v, setV] = useState<VerdictFilter>('all');
  const [sort, setSort] = useState<{ col: Col; dir: 1 | -1 } | null>(null);
  const shown = useMemo(() => viewRows(rows, text, v, sort), [rows, text, v, sort]);
  const shared = useMemo(() => sharedWeights(rows), [rows]);

  const head = (col: Col, label: string) => {
    const active = sort?.col === col;
    return (
      <th scope="col" aria-sort={active ? (sort!.dir === 1 ? 'ascending' : 'descending') : 'none'}>
        <button
          type="button"
          className="sort"
          data-testid={`sort-${col}`}
          onClick={() => setSort(active && sort!.dir === 1 ? { col, dir: -1 } : { col, dir: 1 })}
        >
          {label}
          <span aria-hidden="true">{active ? (sort!.dir === 1 ? ' ▲' : ' ▼') : ' ↕'}</span>
        </button>
      </th>
    );
  };

  return (
    <>
      <div className="row filters">
        <label>
          Filter{' '}
          <input
            type="search"
            data-testid="filter-text"
            value={text}
            placeholder="file, reference, weights, SHA-256…"
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <label>
          Verdict{' '}
          <select data-testid="filter-verdict" value={v} onChange={(e) => setV(e.target.value as VerdictFilter)}>
            <option value="all">all</option>
            <option value="bonafide">bona fide (P ≥ 0.5)</option>
            <option value="spoof">spoof (P &lt; 0.5)</option>
            <option value="failed">failed</option>
          </select>
        </label>
        {sort && (
          <button type="button" onClick={() => setSort(null)}>
            Order added
          </button>
        )}
        <span className="muted" data-testid="shown-count">
          Showing {shown.length} of {rows.length}
        </span>
      </div>
      {shared && (
        <p className="small" data-testid="table-weights">
          Weights: <strong>{shared.label}</strong>
          {shared.demo && <strong className="demo-tag"> (demo: meaningless)</strong>}
        </p>
      )}
      <div className="table-wrap">
        <table className="results-table">
          <thead>
            <tr>
              {head('file', 'File')}
              {head('seconds', 'Duration')}
              {head('ref', 'Reference')}
              {head('p', 'P(bona fide)')}
              <th scope="col">Verdict at 0.5</th>
              {!shared && head('weights', 'Weights')}
              {showLabels && head('label', 'Label')}
              {head('sha', 'Audio SHA-256, engine')}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr
                key={r.key}
                className={r.current ? 'current' : 'older'}
                data-testid="result-row"
                data-ref={r.refMode}
                data-file={r.file}
                data-weights={r.weights.label}
                data-span-start={r.span ? String(r.span.start) : undefined}
                data-span-end={r.span ? String(r.span.end) : undefined}
              >
                <th scope="row" title={r.span ? 'A stretch of the file, scored on its own' : undefined}>
                  {r.file}
                </th>
                <td data-label="Duration" className="mono">
                  {r.seconds != null && formatTime(r.seconds)}
                </td>
                <td data-label="Reference" data-testid="ref-mode">
                  {r.refMode === 'audio' ? `audio: ${r.ref}` : 'zero vector'}
                </td>
                <td data-label="P(bona fide)">
                  {r.pBonafide != null ? (
                    <>
                      <strong data-testid="score" data-value={String(r.pBonafide)}>
                        {r.pBonafide.toFixed(4)}
                      </strong>
                      {r.timeline && (
                        <span className="muted small note">
                          {r.pSource === 'window_mean' ? 'window mean' : 'whole file'}; {r.timeline.windows.length}{' '}
                          windows, min {r.timeline.minP.toFixed(4)}
                        </span>
                      )}
                      {r.noSignal && (
                        <span className="warning inline small" data-testid="no-signal-score">
                          {' '}
                          no speech signal
                        </span>
                      )}
                    </>
                  ) : r.error ? (
                    <span className="error inline" data-testid="error">
                      {r.error}{' '}
                      {r.onRescore && (
                        <button type="button" onClick={r.onRescore}>
                          Rescore
                        </button>
                      )}
                    </span>
                  ) : (
                    <span className="muted">waiting…</span>
                  )}
                </td>
                <td data-label="Verdict" className="small">
                  {r.pBonafide != null && <VerdictText p={r.pBonafide} />}
                </td>
                {!shared && (
                  <td data-label="Weights" className="small weights-cell" title={r.weights.label}>
                    {r.weights.label}
                    {r.weights.demo && <strong className="demo-tag"> (demo)</strong>}
                  </td>
                )}
                {showLabels && (
                  <td data-label="Label" data-testid="label">
                    {r.label ?? <span className="muted">none</span>}
                  </td>
                )}
                <td data-label="SHA-256, engine" className="small">
                  <span
                    className="mono"
                    title={r.audioSha256 ?? ''}
                    data-testid="audio-sha"
                    data-value={r.audioSha256 ?? ''}
                  >
                    {r.audioSha256 ? `${r.audioSha256.slice(0, 12)}…` : ''}
                  </span>
                  {r.backend && (
                    <span className="muted note">
                      {r.backend}, {(r.elapsedMs ?? 0).toFixed(0)} ms
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
});
