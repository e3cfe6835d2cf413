import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/analysis/evaluate';
import { LabelsError, fileId, matchLabels, parseLabels } from '../../src/analysis/labels';
import { computeMetrics } from '../../src/analysis/metrics';
import { buildHtml } from '../../src/analysis/report';
import { PALETTE } from '../../src/analysis/palette';
import {
  type ResultRow,
  type ReportContext,
  CSV_COLUMNS,
  buildCsv,
  buildJson,
  evaluationJson,
  rowJson,
  stretchName,
  VARIES,
} from '../../src/analysis/result';
import { DEFAULT_WINDOWS, summariseWindows } from '../../src/analysis/windows';
import Papa from 'papaparse';

const PROTOCOL5 = [
  'T_4850 T_0000000000 F - - - AC3 A05 spoof -',
  'T_4850 T_0000000001 F - - - - bonafide bonafide -',
  '',
  '# a comment',
  'T_1234 T_0000000002 M mp3 1 7 AC1 A01 spoof -',
  'T_1234 T_0000000003 M - - - AC3 A05 spoof -',
].join('\n');

describe('labels', () => {
  it('reads an ASVspoof 5 protocol with attack labels and tags', () => {
    const s = parseLabels(PROTOCOL5, 'ASVspoof5.dev.track_1.tsv');
    expect(s.format).toBe('asvspoof5');
    expect(s.labels.size).toBe(4);
    expect(s.labels.get('T_0000000000')).toEqual({ id: 'T_0000000000', key: 'spoof', attack: 'A05', attackTag: 'AC3' });
    expect(s.labels.get('T_0000000001')!.key).toBe('bonafide');
  });

  it('reads an ASVspoof 2019 LA protocol', () => {
    const s = parseLabels('LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1271820 - A01 spoof\n', 'trn.txt');
    expect(s.format).toBe('asvspoof2019');
    expect(s.labels.get('LA_T_1271820')).toEqual({ id: 'LA_T_1271820', key: 'spoof', attack: 'A01', attackTag: null });
  });

  it('reads a whitespace-separated list of file, key and attack, with or without a header', () => {
    const s = parseLabels('file\tlabel\nclips/a.flac\tbonafide\nb.wav   spoof  A07\n', 'labels.tsv');
    expect(s.format).toBe('list');
    expect([...s.labels.values()]).toEqual([
      { id: 'a', key: 'bonafide', attack: null, attackTag: null },
      { id: 'b', key: 'spoof', attack: 'A07', attackTag: null },
    ]);
  });

  it('reads a CSV with or without a header, quoted names with commas, and other spellings of the classes', () => {
    const a = parseLabels('file,label\n"a, b.wav",bonafide\nc.flac,Spoof\nd,bona-fide\n', 'labels.csv');
    expect(a.format).toBe('csv');
    expect([...a.labels.values()].map((l) => [l.id, l.key])).toEqual([
      ['a, b', 'bonafide'],
      ['c', 'spoof'],
      ['d', 'bonafide'],
    ]);
    const b = parseLabels('x.wav,spoof,A07\r\ny.wav,genuine\r\n', 'my labels');
    expect(b.labels.get('x')!.attack).toBe('A07');
    expect(b.labels.get('y')!.key).toBe('bonafide');
  });

  it('names the line and what is wrong in a malformed file', () => {
    expect(() => parseLabels('T_1 T_2 F - - - AC3 A05 spoof -\nT_1 T_3 F - spoof\n', 'p.tsv')).toThrow(
      /p\.tsv line 2: 5 columns, but earlier lines had 10/,
    );
    expect(() => parseLabels('a b c d\n', 'p.txt')).toThrow(
      /p\.txt line 1: expected 10 columns \(ASVspoof 5\), 5 \(ASVspoof 2019 LA\) or 2-3 \(file, key, attack\), got 4/,
    );
    expect(() => parseLabels('a.wav spoof\nT_1 T_2 F - - - AC3 A05 spoof -\n', 'p.txt')).toThrow(
      /line 2: 10 columns, but earlier lines had 2-3/,
    );
    expect(() => parseLabels('T_1 T_2 F - - - AC3 A05 maybe -\n', 'p.tsv')).toThrow(
      /line 1: the key column says "maybe"; it must be bonafide or spoof/,
    );
    expect(() => parseLabels('a.wav,bonafide\nb.wav,unsure\n', 'l.csv')).toThrow(/l\.csv row 2: the label is "unsure"/);
    expect(() => parseLabels('a.wav,bonafide\na.flac,spoof\n', 'l.csv')).toThrow(
      /row 2: "a" is labelled spoof here but bonafide earlier/,
    );
    expect(() => parseLabels('only-a-name\n', 'l.csv')).toThrow(/row 1: expected a file name and a label/);
    expect(() => parseLabels('', 'p.tsv')).toThrow(LabelsError);
    expect(() => parseLabels('file,label\n', 'l.csv')).toThrow(/only a header row/);
  });

  it('matches by base name without extension and reports both kinds of leftovers', () => {
    expect(fileId('dir/sub/T_0000000000.flac')).toBe('T_0000000000');
    expect(fileId('C:\\x\\a.b.wav')).toBe('a.b');
    const s = parseLabels(PROTOCOL5, 'p.tsv');
    const m = matchLabels(
      [
        { file: 'x/T_0000000000.wav', score: 0.2 },
        { file: 'extra.wav', score: 0.9 },
      ],
      s,
    );
    expect(m.matched.map((x) => x.label.id)).toEqual(['T_0000000000']);
    expect(m.unlabelledFiles).toEqual(['extra.wav']);
    expect(m.unmatchedLabels).toEqual(['T_0000000001', 'T_0000000002', 'T_0000000003']);
    expect(m.sharedIds).toEqual([]);
    const twice = matchLabels(
      [
        { file: 'a/T_0000000001.wav', score: 0.2 },
        { file: 'b/T_0000000001.flac', score: 0.4 },
      ],
      s,
    );
    expect(twice.matched).toHaveLength(2);
    expect(twice.sharedIds).toEqual(['T_0000000001']);
  });

  it('evaluates: overall metrics equal computeMetrics on the matched scores, per-attack counts and EER', () => {
    const s = parseLabels(PROTOCOL5, 'p.tsv');
    const scores = [
      { file: 'T_0000000000.flac', score: 0.3 },
      { file: 'T_0000000001.flac', score: 0.6 },
      { file: 'T_0000000002.flac', score: 0.7 },
      { file: 'T_0000000003.flac', score: 0.1 },
    ];
    const e = evaluate(scores, s);
    const ref = computeMetrics([0.6], [0.3, 0.7, 0.1]);
    expect(e.metrics!.eer).toBe(ref.eer);
    expect(e.metrics!.minDcf).toBe(ref.minDcf);
    expect(e.attacks).toEqual([
      { attack: 'bonafide', tags: '', n: 1, eer: null },
      { attack: 'A01', tags: 'AC1', n: 1, eer: 1 },
      { attack: 'A05', tags: 'AC3', n: 2, eer: 0 },
    ]);
    const j = evaluationJson(e);
    expect(j).toMatchObject({ eer: ref.eer, min_dcf: ref.minDcf, n_bonafide: 1, n_spoof: 3 });
    const one = evaluate(scores.slice(0, 1), s);
    expect(one.metrics).toBeNull();
    expect(one.problem).toMatch(/matched 0 bona fide and 1 spoof/);
  });
});

const W = { label: 'Demo weights (untrained)', sha256: 'ab'.repeat(32), demo: true, dtype: 'float16' };
const rows: ResultRow[] = [
  {
    file: '=cmd|calc.wav',
    seconds: 1.5,
    pBonafide: 0.25,
    verdict: 'spoof',
    refMode: 'zero',
    ref: null,
    weights: W,
    audioSha256: 'cd'.repeat(32),
    label: 'spoof',
    backend: 'wasm',
    windows: DEFAULT_WINDOWS,
    scoredAt: '2026-11-27T05:59:00.000Z',
  },
  {
    file: 'a "quoted", <b>.wav',
    seconds: 20,
    pBonafide: 0.75,
    pSource: 'window_mean',
    verdict: 'bonafide',
    refMode: 'zero',
    ref: null,
    weights: W,
    audioSha256: 'ef'.repeat(32),
    backend: 'wasm',
    windows: DEFAULT_WINDOWS,
    scoredAt: '2026-11-27T05:59:30.000Z',
    timeline: summariseWindows([
      { start: 0, end: 4, pBonafide: 0.8 },
      { start: 2, end: 6, pBonafide: 0.3 },
    ]),
  },
  {
    file: 'bad.wav',
    seconds: null,
    pBonafide: null,
    verdict: null,
    refMode: 'zero',
    ref: null,
    weights: W,
    audioSha256: '00'.repeat(32),
    error: 'the file is empty (0 bytes)',
  },
];
const ctx: ReportContext = {
  appVersion: '0.1.0',
  date: '2026-11-27T06:00:00.000Z',
  caseId: 'CASE-17 <b>',
  notes: 'line one\nline <two>',
  evaluation: evaluate(
    [
      { file: 'x.wav', score: 0.2 },
      { file: 'y.wav', score: 0.9 },
    ],
    parseLabels('x.wav,spoof\ny.wav,bonafide\n', 'l.csv'),
  ),
};

describe('exports', () => {
  it('CSV: a header and one row per file that a CSV parser reads back, formulas escaped', () => {
    const csv = buildCsv(rows);
    const back = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true });
    expect(back.meta.fields).toEqual([...CSV_COLUMNS]);
    // the CLI's columns keep their places; the stretch's span was added at the end
    expect(CSV_COLUMNS.slice(0, 3)).toEqual(['file', 'seconds', 'p_bonafide']);
    expect(CSV_COLUMNS.slice(-4)).toEqual(['case_id', 'error', 'span_start_s', 'span_end_s']);
    expect(back.data).toHaveLength(3);
    expect(back.data.every((r) => r.span_start_s === '' && r.span_end_s === '')).toBe(true);
    expect(back.data[0].file).toBe("'=cmd|calc.wav");
    expect(back.data[1].file).toBe('a "quoted", <b>.wav');
    expect(Number(back.data[1].p_bonafide)).toBe(0.75);
    expect(back.data[1].timeline_min_p).toBe('0.3');
    expect(back.data.map((r) => r.p_source)).toEqual(['single', 'window_mean', '']);
    expect(back.data[2].error).toBe('the file is empty (0 bytes)');
    expect(back.data.every((r) => r.weights_sha256 === W.sha256)).toBe(true);
  });

  it('JSON: context, the demo warning, every file and the evaluation', () => {
    const j = JSON.parse(buildJson(rows, ctx));
    expect(j.version).toBe('0.1.0');
    expect(j.warning).toMatch(/scores carry no meaning/);
    expect(j.weights.sha256).toBe(W.sha256);
    expect(j.files).toHaveLength(3);
    expect(j.files[1].timeline.windows).toHaveLength(2);
    expect(j.files[1].p_source).toBe('window_mean');
    expect(j.files[2]).toEqual({
      file: 'bad.wav',
      audio_sha256: '00'.repeat(32),
      error: 'the file is empty (0 bytes)',
    });
    expect(j.evaluation).toMatchObject({ eer: 0, min_dcf: 0, n_bonafide: 1, n_spoof: 1 });
  });

  it("JSON: one snake_case shape, the same file object as the CLI's --json line and the same evaluation", () => {
    const j = JSON.parse(buildJson(rows, ctx));
    const keys = (v: unknown): string[] =>
      Array.isArray(v)
        ? v.flatMap(keys)
        : v && typeof v === 'object'
          ? Object.entries(v).flatMap(([k, x]) => [k, ...keys(x)])
          : [];
    expect(keys(j).filter((k) => !/^[a-z0-9_]+$/.test(k))).toEqual([]);
    expect(j.files[1].timeline.windows[0]).toEqual({ start: 0, end: 4, p_bonafide: 0.8 });
    rows.forEach((r, i) => expect(j.files[i]).toEqual(JSON.parse(JSON.stringify(rowJson(r)))));
    expect(j.evaluation).toEqual(JSON.parse(JSON.stringify(evaluationJson(ctx.evaluation!))));
  });

  it('HTML: self-contained, escaped, with the warning, hashes, settings, timeline and charts', () => {
    const html = buildHtml(rows, ctx);
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|\shref=|url\(/i);
    expect(html).toContain('a &quot;quoted&quot;, &lt;b&gt;.wav');
    expect(html).not.toContain('<b>.wav');
    expect(html).toContain('id="demo-warning"');
    expect(html).toContain(W.sha256);
    for (const r of rows) expect(html).toContain(r.audioSha256!);
    expect(html).toContain('rat-detector 0.1.0');
    expect(html).toContain('2026-11-27T06:00:00.000Z');
    expect(html).toContain('as 4 s windows every 2 s');
    expect(html).toMatch(/aria-label="P\(bona fide\) per window"/);
    expect(html).toMatch(/aria-label="DET curve on probit axes"/);
    expect(html).toMatch(/aria-label="Score histogram per class"/);
    expect(html).toContain('EER <strong>0.00 %</strong>');
    expect(html).toContain('<td>0.7500 (window mean)</td>');
    // the verdict in the one wording of src/analysis/verdict.ts, coloured from the one palette
    expect(html).toContain('<td class="verdict spoof">Leans spoof</td>');
    expect(html).toContain('<td class="verdict bona">Leans bona fide</td>');
    expect(html).toContain(`.verdict.bona{color:${PALETTE.bonafide}}`);
    expect(html).not.toMatch(/#2e7d32|#c62828/i);
    const noDemo = buildHtml(
      rows.map((r) => ({ ...r, weights: { ...W, demo: false } })),
      ctx,
    );
    expect(noDemo).not.toContain('demo-warning');
    expect(html).toContain('<dt>Case</dt><dd>CASE-17 &lt;b&gt;</dd>');
    expect(html).toContain('line one\nline &lt;two&gt;');
  });

  it('evidence: each row says what it was scored with; the header states only what all rows share', () => {
    const REF = 'ab12'.repeat(16);
    const mixed: ResultRow[] = [
      { ...rows[0], file: 'one.wav' },
      {
        ...rows[0],
        file: 'two.wav',
        refMode: 'audio',
        ref: 'speaker.wav',
        refSha256: REF,
        backend: 'webgpu',
        windows: { ...DEFAULT_WINDOWS, hopSeconds: 3 },
      },
    ];
    const j = JSON.parse(buildJson(mixed, ctx));
    expect(j.files[0]).toMatchObject({ ref_mode: 'zero', ref: null, ref_sha256: null, backend: 'wasm' });
    expect(j.files[0].windows).toEqual({ limit_s: 12, window_s: 4, hop_s: 2, single_pass_max_s: 30 });
    expect(j.files[0].scored_at).toBe('2026-11-27T05:59:00.000Z');
    expect(j.files[1]).toMatchObject({ ref_mode: 'audio', ref: 'speaker.wav', ref_sha256: REF, backend: 'webgpu' });
    expect(j.files[1].windows.hop_s).toBe(3);
    expect(j.settings).toEqual({
      ref_mode: VARIES,
      ref: VARIES,
      ref_sha256: VARIES,
      windows: VARIES,
      backend: VARIES,
    });
    expect(j.weights).toEqual(W);
    expect(j.case_id).toBe('CASE-17 <b>');
    const html = buildHtml(mixed, ctx);
    expect(html).toContain(`<dt>Reference</dt><dd>${VARIES}</dd>`);
    expect(html).toContain(`<dt>Backend</dt><dd>${VARIES}</dd>`);
    expect(html).toContain(`<dt>Windowing</dt><dd>${VARIES}</dd>`);
    expect(html).toContain(`audio: speaker.wav (SHA-256 ${REF})`);
    const one = buildHtml(mixed.slice(1), ctx);
    expect(one).toContain(`<dt>Reference</dt><dd>audio: speaker.wav (SHA-256 ${REF})</dd>`);
    expect(one).toContain('<dt>Backend</dt><dd>webgpu</dd>');
    const csv = Papa.parse<Record<string, string>>(buildCsv(mixed, 'CASE-17'), { header: true, skipEmptyLines: true });
    expect(csv.data.map((r) => [r.ref_sha256, r.backend, r.hop_s, r.case_id])).toEqual([
      ['', 'wasm', '2', 'CASE-17'],
      [REF, 'webgpu', '3', 'CASE-17'],
    ]);
  });

  it('a stretch scored on its own: its name shows the span, every export carries it, whole-file rows carry null', () => {
    const span = { start: 1.2345, end: 3.4 };
    expect(stretchName('take.wav', span)).toBe('take.wav [0:01.2–0:03.4]');
    expect(stretchName('long.wav', { start: 61.96, end: 125 })).toBe('long.wav [1:02.0–2:05.0]');
    const stretch: ResultRow = { ...rows[0], file: stretchName('take.wav', span), seconds: 2.1655, span };
    const mixed: ResultRow[] = [{ ...rows[0], file: 'take.wav' }, stretch];

    const csv = Papa.parse<Record<string, string>>(buildCsv(mixed), { header: true, skipEmptyLines: true }).data;
    expect(csv.map((r) => [r.file, r.span_start_s, r.span_end_s])).toEqual([
      ['take.wav', '', ''],
      ['take.wav [0:01.2–0:03.4]', '1.2345', '3.4'],
    ]);

    const j = JSON.parse(buildJson(mixed, ctx));
    expect(j.files[0]).toMatchObject({ file: 'take.wav', span_start_s: null, span_end_s: null });
    expect(j.files[1]).toMatchObject({ file: 'take.wav [0:01.2–0:03.4]', span_start_s: 1.2345, span_end_s: 3.4 });
    // a CLI row (no span field at all) reads as a whole-file row
    const { span: _s, ...cliRow } = stretch;
    expect(rowJson({ ...cliRow, file: 'take.wav' })).toMatchObject({ span_start_s: null, span_end_s: null });
    // a failed file's object keeps its three keys unless it is a stretch
    expect(Object.keys(rowJson(rows[2])).sort()).toEqual(['audio_sha256', 'error', 'file']);
    expect(rowJson({ ...rows[2], span })).toMatchObject({ span_start_s: 1.2345, span_end_s: 3.4 });

    const html = buildHtml(mixed, ctx);
    expect(html).toContain('<tr><td>take.wav [0:01.2–0:03.4]</td><td>2.17</td>');
    expect(html).toContain('id="stretch-note"');
    expect(buildHtml(mixed.slice(0, 1), ctx)).not.toContain('stretch-note');
  });
});
