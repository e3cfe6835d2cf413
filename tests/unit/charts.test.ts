import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { type FunctionComponent, createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import {
  MARKERS,
  conditionsPSvg,
  conditionsRatioLayout,
  conditionsRatioSvg,
  detSvg,
  esc,
  histogramSvg,
  timelineSvg,
  timelineWindowAt,
} from '../../src/analysis/charts';
import { evaluate } from '../../src/analysis/evaluate';
import { parseLabels } from '../../src/analysis/labels';
import { PALETTE, pColour } from '../../src/analysis/palette';
import { buildHtml } from '../../src/analysis/report';
import type { ReportContext, ResultRow } from '../../src/analysis/result';
import type { ConditionResult } from '../../src/analysis/run-conditions';
import { verdictOf, verdictText } from '../../src/analysis/verdict';
import { summariseWindows } from '../../src/analysis/windows';
import {
  ConditionsPChart,
  ConditionsRatioChart,
  DetChart,
  HistogramChart,
  TimelineChart,
  timelineChartLabel,
} from '../../src/ui/Charts';

// One chart implementation (src/analysis/charts.ts) for the page and the HTML report, one palette,
// one verdict wording.

const ROOT = path.resolve(__dirname, '../..');

const e = evaluate(
  [
    { file: 'a.wav', score: 0.1 },
    { file: 'b.wav', score: 0.45 },
    { file: 'c.wav', score: 0.55 },
    { file: 'd.wav', score: 0.9 },
    { file: 'e.wav', score: 0.7 },
    { file: 'f.wav', score: 0.3 },
  ],
  parseLabels('a.wav,spoof\nb.wav,bonafide\nc.wav,spoof\nd.wav,bonafide\ne.wav,bonafide\nf.wav,spoof\n', 'l.csv'),
);
// ~14 s at 4 s windows every 2 s, like the E2E clip
const timeline = summariseWindows(
  [0, 2, 4, 6, 8, 10].map((s, i) => ({ start: s, end: s + 4, pBonafide: [0.9, 0.6, 0.2, 0.45, 0.8, 0.05][i] })),
);
const EVIL = '<script>alert(1)</script>"\'&.wav';
const conditions: ConditionResult[] = [
  { id: 'zero', label: 'Zero vector', caption: '', pBonafide: 0.31, attnRms: [0.02, 0.03], mlpRms: [1, 1.5] },
  { id: 'matched', label: EVIL, caption: '', pBonafide: 0.72, attnRms: [0.01, 0.04], mlpRms: [1, 2] },
  { id: 'silence', label: 'Silence', caption: '', unavailable: 'no reference chosen' },
];

const W = { label: 'Demo weights', sha256: 'ab'.repeat(32), demo: true };
const row = (file: string, p: number, t?: typeof timeline): ResultRow => ({
  file,
  seconds: 14,
  pBonafide: p,
  verdict: verdictOf(p),
  refMode: 'zero',
  ref: null,
  weights: W,
  audioSha256: 'cd'.repeat(32),
  timeline: t,
});
const ctx: ReportContext = {
  appVersion: '0.1.0',
  date: '2026-01-01T00:00:00.000Z',
  evaluation: e,
};

function page<P extends object>(component: FunctionComponent<P>, props: P): string {
  return renderToStaticMarkup(createElement(component, props));
}
/** The SVG markup inside a page chart's wrapper. */
const inner = (html: string) => html.replace(/^<div[^>]*>/, '').replace(/<\/div>$/, '');
/** Every element name in an SVG string. */
const tags = (svg: string) => new Set([...svg.matchAll(/<\/?([a-zA-Z][\w:-]*)/g)].map((m) => m[1].toLowerCase()));
const SVG_TAGS = new Set(['svg', 'rect', 'line', 'polyline', 'polygon', 'circle', 'text', 'title']);

describe('one chart implementation for the page and the report', () => {
  it('the page draws the very SVG the report inlines', () => {
    const html = buildHtml([row('long.wav', 0.62, timeline)], ctx);
    const det = inner(page(DetChart, { e }));
    const hist = inner(page(HistogramChart, { e }));
    expect(det).toBe(detSvg(e));
    expect(hist).toBe(histogramSvg(e));
    expect(html).toContain(det);
    expect(html).toContain(hist);
    // the timeline: the same drawing, the page's text alternative naming the file and the click
    const onPage = inner(page(TimelineChart, { timeline, file: 'long.wav' }));
    expect(onPage).toBe(timelineSvg(timeline, { label: timelineChartLabel(6, 'long.wav') }));
    expect(html).toContain(timelineSvg(timeline));
    expect(onPage.replace(/aria-label="[^"]*"/, '')).toBe(timelineSvg(timeline).replace(/aria-label="[^"]*"/, ''));
    expect(inner(page(ConditionsPChart, { results: conditions }))).toBe(conditionsPSvg(conditions));
    expect(inner(page(ConditionsRatioChart, { results: conditions }))).toBe(conditionsRatioSvg(conditions));
  });

  it('keeps the test ids and text alternatives the page had', () => {
    expect(page(DetChart, { e })).toMatch(
      /^<div class="svg-chart chart" data-testid="det-chart"><svg [^>]*aria-label="DET curve on probit axes"/,
    );
    expect(page(HistogramChart, { e })).toMatch(
      /data-testid="histogram-chart"><svg [^>]*aria-label="Score histogram per class"/,
    );
    expect(page(TimelineChart, { timeline, file: 'x.wav' })).toContain(
      'data-testid="timeline-chart"><svg xmlns="http://www.w3.org/2000/svg" width="600" height="150" viewBox="0 0 600 150" role="img" aria-label="P(bona fide) of each of the 6 windows of x.wav over time; click a point to play from there"',
    );
    expect(page(ConditionsPChart, { results: conditions })).toContain('data-testid="conditions-p-chart"');
    expect(page(ConditionsRatioChart, { results: conditions })).toContain('data-testid="conditions-ratio-chart"');
    // tooltips are <title> elements
    expect(timelineSvg(timeline)).toContain('<title>window 3, 0:04.0–0:08.0: P(bona fide) 0.2000</title>');
    expect(detSvg(e)).toMatch(/<title>EER \d+\.\d\d %<\/title>/);
    // conditions that did not run are left out of both condition charts
    expect(conditionsPSvg(conditions)).not.toContain('Silence');
    expect(conditionsRatioSvg(conditions)).not.toContain('Silence');
    expect(detSvg({ ...e, metrics: null })).toBe('');
  });

  it('escapes a file name or label with markup inside the SVG, on the page and in the report', () => {
    const onPage = page(TimelineChart, { timeline, file: EVIL });
    expect(onPage).not.toContain('<script');
    expect(onPage).toContain(esc(EVIL));
    for (const svg of [conditionsPSvg(conditions), conditionsRatioSvg(conditions), onPage]) {
      expect(svg).not.toMatch(/<script|alert\(1\)<\//);
      expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;.wav');
    }
    const html = buildHtml([row(EVIL, 0.2, timeline)], ctx);
    expect(html).not.toContain('<script');
    // any text at all: only the builders' own elements, no event handler attribute
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const rs = [
          { label: a, pBonafide: 0.4, attnRms: [0.1], mlpRms: [1] },
          { label: b, pBonafide: 0.6, attnRms: [0.2], mlpRms: [1] },
        ];
        for (const svg of [conditionsPSvg(rs), conditionsRatioSvg(rs), timelineSvg(timeline, { label: a + b })]) {
          for (const t of tags(svg)) expect(SVG_TAGS.has(t), t).toBe(true);
          expect(svg).not.toMatch(/\son\w+=/i);
        }
      }),
    );
  });

  it('a click at a fraction of the timeline chart picks the window whose centre is nearest', () => {
    expect(timelineWindowAt(timeline, 0)).toBe(0);
    expect(timelineWindowAt(timeline, 0.85)).toBe(5); // as the E2E test clicks
    expect(timelineWindowAt(timeline, 1)).toBe(5);
    // the drawing's own position of window 3's centre maps back to window 3
    const cx = Number(/<circle cx="([\d.]+)"[^>]*><title>window 4,/.exec(timelineSvg(timeline))![1]);
    expect(timelineWindowAt(timeline, cx / 600)).toBe(3);
  });
});

describe('the per-layer chart of the reference conditions', () => {
  // nine series, as many as the conditions; one passes through the paper's ratio on its second layer
  const nine: ConditionResult[] = Array.from({ length: 9 }, (_, i) => ({
    id: 'zero',
    label: `condition ${i + 1}`,
    caption: '',
    pBonafide: 0.5,
    attnRms: i === 4 ? [0.3, 0.02, 0.5] : [0.4 + 0.1 * i, 1 + 0.1 * i, 1.5 + 0.05 * i],
    mlpRms: [1, 1, 1],
  }));
  const svg = conditionsRatioSvg(nine);
  const attr = (el: string, name: string) => Number(new RegExp(`\\s${name}="([^"]+)"`).exec(el)![1]);

  it("draws the paper's 0.02 as a dashed, labelled guide line at the height of a point worth 0.02", () => {
    const guides = [...svg.matchAll(/<line [^>]*data-guide="0\.02"[^>]*>/g)].map((m) => m[0]);
    expect(guides).toHaveLength(1);
    const [guide] = guides;
    expect(guide).toMatch(/stroke-dasharray="[\d ]+"/);
    expect(attr(guide, 'y1')).toBe(attr(guide, 'y2'));
    expect(attr(guide, 'y1')).toBeCloseTo(conditionsRatioLayout(nine).y(0.02), 1);
    // the marker of series 5, layer 2 (value 0.02) sits on the line
    const onLine = new RegExp('<[a-z]+ [^>]*data-series="4"[^>]*><title>condition 5, layer 2: 0\\.0200</title>').exec(
      svg,
    )![0];
    // series 5 is the triangle pointing down, centred on its point: the mean of its corners
    const ys = /points="([^"]+)"/
      .exec(onLine)![1]
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
    const cy = ys.reduce((a, v) => a + v, 0) / ys.length;
    expect(Math.abs(cy - attr(guide, 'y1'))).toBeLessThan(0.1);
    // labelled in the legend, beside a sample of the same dashed line, and in red at the axis
    expect(svg).toMatch(/<line [^>]*stroke-dasharray="6 4"\/><text [^>]*>paper&#39;s trained model, 0\.02<\/text>/);
    expect(svg).toMatch(new RegExp(`<text x="48" y="${(attr(guide, 'y1') + 3.5).toFixed(1)}"[^>]*>0\\.02</text>`));
    expect(svg).toMatch(/aria-label="[^"]*a dashed line marks the paper&#39;s trained model at 0\.02"/);
    // on the chart whatever the weights do: values a hundred times larger, or all below it
    for (const k of [100, 0.1]) {
      const scaled = nine.map((r) => ({ ...r, attnRms: r.attnRms!.map((v) => v * k) }));
      const l = conditionsRatioLayout(scaled);
      const y = l.y(0.02);
      expect(y).toBeGreaterThan(l.top);
      expect(y).toBeLessThan(l.top + l.plotH);
    }
  });

  it('tells the lines apart without colour: one marker shape and one dash per series, the same in the legend', () => {
    const bySeries = new Map<string, Set<string>>();
    for (const m of svg.matchAll(/data-shape="([a-z-]+)" data-series="(\d+)"/g)) {
      bySeries.set(m[2], (bySeries.get(m[2]) ?? new Set()).add(m[1]));
    }
    expect(bySeries.size).toBe(9);
    const shapes = [...bySeries.values()].map((s) => {
      expect(s.size).toBe(1); // one shape for a series' points and its legend entry
      return [...s][0];
    });
    expect(new Set(shapes).size).toBe(9);
    expect(shapes).toEqual([...MARKERS]);
    // 3 points on the line and 1 in the legend, for each series
    for (let i = 0; i < 9; i++) expect(svg.match(new RegExp(`data-series="${i}"`, 'g'))).toHaveLength(4);
    // the shapes really differ: their outlines (point counts) are not all the same
    const corners = new Set(
      [...svg.matchAll(/<polygon points="([^"]+)"[^>]*data-series="(\d)"/g)].map((m) => m[1].split(' ').length),
    );
    expect(corners.size).toBeGreaterThanOrEqual(4);
    // dashes: every series line after the first carries its own pattern
    const dashes = [...svg.matchAll(/<polyline [^>]*?(?:stroke-dasharray="([^"]+)")?\/>/g)].map((m) => m[1] ?? '');
    expect(dashes).toHaveLength(9);
    expect(new Set(dashes).size).toBe(9);
    // the legend names every series next to its marker
    for (let i = 1; i <= 9; i++) expect(svg).toContain(`>condition ${i}</text>`);
  });
});

describe('one palette', () => {
  it('colour-blind safe: bona fide blue, spoof red, the same in the charts, the report and the page CSS', () => {
    expect(PALETTE.bonafide).toBe('#2166ac');
    expect(PALETTE.spoof).toBe('#b2182b');
    expect(pColour(1)).toBe('rgba(33, 102, 172, 1)');
    expect(pColour(0)).toBe('rgba(178, 24, 43, 1)');
    expect(pColour(0.5, 0.45)).toBe('rgba(200, 200, 200, 0.45)');
    expect(histogramSvg(e)).toContain(`fill="${PALETTE.bonafide}"`);
    expect(histogramSvg(e)).toContain(`fill="${PALETTE.spoof}"`);
    const css = readFileSync(path.join(ROOT, 'src/ui/style.css'), 'utf8');
    const vars = Object.fromEntries([...css.matchAll(/--([a-z]+):\s*(#[0-9a-f]+);/gi)].map((m) => [m[1], m[2]]));
    expect(vars).toEqual(PALETTE);
    for (const s of [css, buildHtml([row('a.wav', 0.9, timeline)], ctx), detSvg(e), histogramSvg(e)])
      expect(s).not.toMatch(/#2e7d32|#c62828|#05603a/i);
  });
});

describe('one verdict wording', () => {
  it('verdictText grades the score; verdictOf is the machine value', () => {
    expect([0.95, 0.7, 0.55, 0.45, 0.2, 0.05].map((p) => verdictText(p))).toEqual([
      { text: 'Likely bona fide (genuine)', tone: 'bona' },
      { text: 'Leans bona fide', tone: 'bona' },
      { text: 'Uncertain, just on the bona fide side of 0.5', tone: 'unsure' },
      { text: 'Uncertain, just on the spoof side of 0.5', tone: 'unsure' },
      { text: 'Leans spoof', tone: 'spoof' },
      { text: 'Likely spoof (synthetic or converted)', tone: 'spoof' },
    ]);
    expect(verdictOf(0.5)).toBe('bonafide');
    expect(verdictOf(0.4999)).toBe('spoof');
  });
});
