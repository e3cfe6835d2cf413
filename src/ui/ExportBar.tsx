import { buildHtml } from '../analysis/report';
import { type ReportContext, type ResultRow, buildCsv, buildJson } from '../analysis/result';
import { download } from './batch-files';

// Export of every row in the results table (not only the filtered view): CSV, JSON and a
// self-contained HTML report for a case file.

export function ExportBar({ rows, context }: { rows: readonly ResultRow[]; context: () => ReportContext }) {
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const disabled = rows.length === 0;
  return (
    <div className="row exports">
      <span className="muted">Export all {rows.length} rows:</span>
      <button
        type="button"
        data-testid="export-csv"
        disabled={disabled}
        onClick={() => download(`rat-results-${stamp()}.csv`, buildCsv(rows), 'text/csv')}
      >
        CSV
      </button>
      <button
        type="button"
        data-testid="export-json"
        disabled={disabled}
        onClick={() => download(`rat-results-${stamp()}.json`, buildJson(rows, context()), 'application/json')}
      >
        JSON
      </button>
      <button
        type="button"
        data-testid="export-html"
        disabled={disabled}
        onClick={() => download(`rat-report-${stamp()}.html`, buildHtml(rows, context()), 'text/html')}
      >
        HTML report
      </button>
    </div>
  );
}
