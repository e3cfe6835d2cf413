import { useState } from 'react';
import { buildHtml } from '../analysis/report';
import { type ReportContext, type ResultRow, buildCsv, buildJson } from '../analysis/result';
import { download } from './batch-files';

// Export of every row in the results table (not only the filtered view): CSV, JSON and a
// self-contained HTML report for a case file, each with the optional case id and notes.

export function ExportBar({ rows, context }: { rows: readonly ResultRow[]; context: () => ReportContext }) {
  const [caseId, setCaseId] = useState('');
  const [notes, setNotes] = useState('');
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const ctx = () => ({ ...context(), caseId: caseId.trim(), notes: notes.trim() });
  const disabled = rows.length === 0;
  return (
    <div className="exports">
      <div className="row">
        <label>
          Case id{' '}
          <input
            data-testid="case-id"
            value={caseId}
            maxLength={200}
            onChange={(e) => setCaseId(e.target.value)}
            placeholder="optional"
          />
        </label>
        <label className="grow">
          Notes{' '}
          <textarea
            data-testid="case-notes"
            rows={1}
            value={notes}
            maxLength={10_000}
            onChange={(e) => setNotes(e.target.value)}
            placeholder="optional, written into the exports"
          />
        </label>
      </div>
      <div className="row">
        <span className="muted">Export all {rows.length} rows:</span>
        <button
          type="button"
          data-testid="export-csv"
          disabled={disabled}
          onClick={() => download(`rat-results-${stamp()}.csv`, buildCsv(rows, caseId.trim()), 'text/csv')}
        >
          CSV
        </button>
        <button
          type="button"
          data-testid="export-json"
          disabled={disabled}
          onClick={() => download(`rat-results-${stamp()}.json`, buildJson(rows, ctx()), 'application/json')}
        >
          JSON
        </button>
        <button
          type="button"
          data-testid="export-html"
          disabled={disabled}
          onClick={() => download(`rat-report-${stamp()}.html`, buildHtml(rows, ctx()), 'text/html')}
        >
          HTML report
        </button>
      </div>
    </div>
  );
}
