import { describe, expect, it } from 'vitest';
import { stretchName } from '../../src/analysis/result';
import { scoresToEvaluate } from '../../src/ui/hooks/useResultRows';
import { type TableRow, sharedWeights, viewRows } from '../../src/ui/ResultsTable';

// The results table's view: text and verdict filters, sorting with failed rows last either way and
// ties kept in the order added.

const W = { label: 'Demo', sha256: null, demo: true };
const row = (file: string, p: number | null, extra: Partial<TableRow> = {}): TableRow => ({
  key: file,
  current: true,
  file,
  seconds: 1,
  pBonafide: p,
  verdict: p == null ? null : p >= 0.5 ? 'bonafide' : 'spoof',
  refMode: 'zero',
  ref: null,
  weights: W,
  audioSha256: `sha-${file}`,
  ...(p == null ? { error: 'bad' } : {}),
  ...extra,
});
const rows = [row('b.wav', 0.7), row('a.wav', 0.2), row('c.wav', null), row('d10.wav', 0.7), row('d9.wav', 0.5)];
const files = (rs: TableRow[]) => rs.map((r) => r.file);

describe('results table view', () => {
  it('keeps the order added when unsorted', () => {
    expect(files(viewRows(rows, '', 'all', null))).toEqual(['b.wav', 'a.wav', 'c.wav', 'd10.wav', 'd9.wav']);
  });

  it('sorts by score both ways, failed rows last, ties in the order added', () => {
    expect(files(viewRows(rows, '', 'all', { col: 'p', dir: 1 }))).toEqual([
      'a.wav',
      'd9.wav',
      'b.wav',
      'd10.wav',
      'c.wav',
    ]);
    expect(files(viewRows(rows, '', 'all', { col: 'p', dir: -1 }))).toEqual([
      'b.wav',
      'd10.wav',
      'd9.wav',
      'a.wav',
      'c.wav',
    ]);
  });

  it('sorts names naturally (d9 before d10)', () => {
    expect(files(viewRows(rows, '', 'all', { col: 'file', dir: 1 }))).toEqual([
      'a.wav',
      'b.wav',
      'c.wav',
      'd9.wav',
      'd10.wav',
    ]);
  });

  it('filters by text (file, hash, error) and by verdict', () => {
    expect(files(viewRows(rows, 'D1', 'all', null))).toEqual(['d10.wav']);
    expect(files(viewRows(rows, 'sha-a', 'all', null))).toEqual(['a.wav']);
    expect(files(viewRows(rows, '', 'spoof', null))).toEqual(['a.wav']);
    expect(files(viewRows(rows, '', 'bonafide', null))).toEqual(['b.wav', 'd10.wav', 'd9.wav']);
    expect(files(viewRows(rows, '', 'failed', null))).toEqual(['c.wav']);
  });

  it('names the weights once when every row shares them, and not when any differs', () => {
    expect(sharedWeights(rows)).toEqual(W);
    expect(sharedWeights([])).toBeNull();
    const other = row('e.wav', 0.3, { weights: { ...W, sha256: 'other' } });
    expect(sharedWeights([...rows, other])).toBeNull();
  });

  it('evaluates whole-file rows only: a stretch row is in the table but not in the EER', () => {
    const span = { start: 0.5, end: 2 };
    const stretch = row(stretchName('a.wav', span), 0.9, { key: 'stretch|a', span });
    const live = [row('a.wav', 0.2), stretch, row('b.wav', 0.7, { current: false })];
    const restored = [
      row('c.wav', 0.4, { current: false }),
      row('a.wav', 0.6, { current: false }),
      row(stretchName('c.wav', span), 0.1, { current: false, span }),
    ];
    expect(scoresToEvaluate(live, restored)).toEqual([
      { file: 'a.wav', score: 0.2 },
      { file: 'c.wav', score: 0.4 },
    ]);
    // the stretch is still a row of the table, found by its file's name
    expect(files(viewRows([...live, ...restored], 'a.wav', 'all', null))).toEqual([
      'a.wav',
      'a.wav [0:00.5–0:02.0]',
      'a.wav',
    ]);
  });
});
