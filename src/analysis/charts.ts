import type { Evaluation } from './evaluate';
import { probit } from './metrics';
import { PALETTE, SERIES, pColour } from './palette';
import { PAPER_RATIO } from './conditions';
import type { ConditionResult } from './run-conditions';
import { formatTime } from './time';
import type { TimelineSummary } from './windows';

// The charts of the page and of the HTML report, drawn once: pure functions from data to an SVG
// string (no script, no style attribute, no external resource). The report inlines the string; the
// page sets it as markup (src/ui/SvgChart.tsx), so every text that comes from a file, a label or
// any other input goes through `esc` here. Tooltips are <title> elements.

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML and SVG content and attribute values. */
export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);

const f1 = (v: number) => v.toFixed(1);
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
/** A tick value as short text: 0.25, 2, 120 (no float noise). */
const tick = (v: number) => `${+v.toPrecision(6)}`;

function svgOpen(width: number, height: number, label: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${esc(label)}" font-family="system-ui, sans-serif" fill="${PALETTE.ink}">`
  );
}

function text(
  x: number,
  y: number,
  s: string,
  o: { size?: number; anchor?: 'start' | 'middle' | 'end'; rotate?: boolean } = {},
) {
  const anchor = o.anchor && o.anchor !== 'start' ? ` text-anchor="${o.anchor}"` : '';
  const rotate = o.rotate ? ` transform="rotate(-90 ${f1(x)} ${f1(y)})"` : '';
  return `<text x="${f1(x)}" y="${f1(y)}" font-size="${o.size ?? 10}"${anchor}${rotate}>${esc(s)}</text>`;
}

/** A legend entry: a square swatch and its text. */
const swatch = (x: number, y: number, colour: string, s: string) =>
  `<rect x="${f1(x)}" y="${f1(y - 8)}" width="9" height="9" fill="${colour}"/>${text(x + 13, y, s)}`;

/** A step of 1, 2 or 5 times a power of ten giving at most `most` steps over `span`. */
function niceStep(span: number, most: number): number {
  const raw = Math.max(span, 1e-9) / most;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

// ---------------------------------------------------------------- timeline

export const TIMELINE_SIZE = { width: 600, height: 150 } as const;

/** Where the timeline chart puts things, shared by the drawing and the page's click-to-seek. */
export function timelineLayout(
  t: TimelineSummary,
  width: number = TIMELINE_SIZE.width,
  height: number = TIMELINE_SIZE.height,
) {
  const left = 44;
  const right = 10;
  const top = 8;
  const plotW = width - left - right;
  const plotH = height - 60;
  const end = Math.max(...t.windows.map((w) => w.end), 1e-9);
  return {
    left,
    top,
    plotW,
    plotH,
    end,
    x: (sec: number) => left + (sec / end) * plotW,
    y: (p: number) => top + (1 - p) * plotH,
    /** Seconds at a horizontal position of the drawing (in its own units). */
    timeAt: (px: number) => ((px - left) / plotW) * end,
  };
}

/**
 * The window whose centre is nearest the time at `fraction` (0 to 1) of the timeline chart's width,
 * as the page seeks when the chart is clicked.
 */
export function timelineWindowAt(t: TimelineSummary, fraction: number, width: number = TIMELINE_SIZE.width): number {
  const at = timelineLayout(t, width).timeAt(fraction * width);
  let best = 0;
  t.windows.forEach((w, i) => {
    const b = t.windows[best];
    if (Math.abs((w.start + w.end) / 2 - at) < Math.abs((b.start + b.end) / 2 - at)) best = i;
  });
  return best;
}

export interface TimelineChartOptions {
  /** The chart's text alternative (aria-label). */
  label?: string;
  width?: number;
  height?: number;
}

/**
 * A window timeline: P(bona fide) at each window's centre (coloured from spoof red to bona fide blue),
 * the 0.5 decision line dashed, and the window spans as a two-lane strip under the plot.
 */
export function timelineSvg(t: TimelineSummary, o: TimelineChartOptions = {}): string {
  const width = o.width ?? TIMELINE_SIZE.width;
  const height = o.height ?? TIMELINE_SIZE.height;
  const { left, top, plotW, plotH, end, x, y } = timelineLayout(t, width, height);
  const r = t.windows.length > 120 ? 2 : 3;
  const centre = (w: { start: number; end: number }) => x((w.start + w.end) / 2);
  const pts = t.windows.map((w) => `${f1(centre(w))},${f1(y(w.pBonafide))}`).join(' ');
  const dots = t.windows
    .map(
      (w, i) =>
        `<circle cx="${f1(centre(w))}" cy="${f1(y(w.pBonafide))}" r="${r}" fill="${pColour(w.pBonafide)}" stroke="${PALETTE.line}" stroke-width="0.5">` +
        `<title>window ${i + 1}, ${formatTime(w.start)}–${formatTime(w.end)}: P(bona fide) ${w.pBonafide.toFixed(4)}</title></circle>`,
    )
    .join('');
  const stripTop = top + plotH + 4;
  const strip = t.windows
    .map(
      (w, i) =>
        `<rect x="${f1(x(w.start))}" y="${f1(stripTop + (i % 2) * 5)}" width="${f1(Math.max(1, x(w.end) - x(w.start)))}" height="4" fill="${pColour(w.pBonafide)}" fill-opacity="0.8"/>`,
    )
    .join('');
  const step = niceStep(end, 8);
  const xTicks: string[] = [];
  for (let v = 0; v <= end + 1e-9; v += step) xTicks.push(text(x(v), stripTop + 22, tick(v), { anchor: 'middle' }));
  const yTicks = [0, 0.5, 1].map((p) => text(left - 4, y(p) + 3.5, tick(p), { anchor: 'end' })).join('');
  return (
    svgOpen(width, height, o.label ?? 'P(bona fide) per window') +
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="${PALETTE.plot}" stroke="${PALETTE.axis}"/>` +
    `<line x1="${left}" x2="${left + plotW}" y1="${f1(y(0.5))}" y2="${f1(y(0.5))}" stroke="${PALETTE.threshold}" stroke-dasharray="6 4"><title>decision point 0.5</title></line>` +
    `<polyline points="${pts}" fill="none" stroke="${PALETTE.line}" stroke-width="1.5"/>${dots}${strip}${yTicks}${xTicks.join('')}` +
    text(12, top + plotH / 2, 'P(bona fide)', { size: 11, anchor: 'middle', rotate: true }) +
    text(left + plotW / 2, height - 6, 'time (s), window centre', { size: 11, anchor: 'middle' }) +
    '</svg>'
  );
}

// ---------------------------------------------------------------- DET curve

const DET_TICKS = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99];

/** DET curve on probit axes (0.1 % to 99 %), the EER point marked; empty without metrics. */
export function detSvg(e: Evaluation, o: { label?: string; size?: number } = {}): string {
  if (!e.metrics) return '';
  const size = o.size ?? 320;
  const lo = probit(0.001);
  const hi = probit(0.99);
  const pad = 44;
  const span = size - pad - 12;
  const clamp = (p: number) => Math.min(hi, Math.max(lo, probit(Math.min(Math.max(p, 1e-9), 1 - 1e-9))));
  const px = (p: number) => pad + ((clamp(p) - lo) / (hi - lo)) * span;
  const py = (p: number) => 12 + span - ((clamp(p) - lo) / (hi - lo)) * span;
  const pts = e.metrics.det.map((d) => `${f1(px(d.pFa))},${f1(py(d.pMiss))}`).join(' ');
  const label = (t: number) => tick(+(100 * t).toPrecision(2));
  const grid = DET_TICKS.map(
    (t) =>
      `<line x1="${f1(px(t))}" x2="${f1(px(t))}" y1="12" y2="${12 + span}" stroke="${PALETTE.grid}"/>` +
      `<line x1="${pad}" x2="${pad + span}" y1="${f1(py(t))}" y2="${f1(py(t))}" stroke="${PALETTE.grid}"/>` +
      text(px(t), 12 + span + 13, label(t), { anchor: 'middle' }) +
      text(pad - 4, py(t) + 3.5, label(t), { anchor: 'end' }),
  ).join('');
  const eer = e.metrics.eer;
  return (
    svgOpen(size, size, o.label ?? 'DET curve on probit axes') +
    `<rect x="${pad}" y="12" width="${span}" height="${span}" fill="${PALETTE.plot}"/>${grid}` +
    `<rect x="${pad}" y="12" width="${span}" height="${span}" fill="none" stroke="${PALETTE.axis}"/>` +
    `<line x1="${pad}" y1="${12 + span}" x2="${pad + span}" y2="12" stroke="${PALETTE.axis}" stroke-dasharray="3 3"/>` +
    `<polyline points="${pts}" fill="none" stroke="${PALETTE.line}" stroke-width="2"/>` +
    `<circle cx="${f1(px(eer))}" cy="${f1(py(eer))}" r="4.5" fill="${PALETTE.threshold}"><title>EER ${pct(eer)}</title></circle>` +
    `<circle cx="${pad + span - 78}" cy="24" r="4" fill="${PALETTE.threshold}"/>` +
    text(pad + span - 70, 27.5, `EER ${pct(eer)}`) +
    text(pad + span / 2, size - 6, 'Spoof accepted, false acceptance (%)', { size: 11, anchor: 'middle' }) +
    text(12, 12 + span / 2, 'Bona fide rejected, miss (%)', { size: 11, anchor: 'middle', rotate: true }) +
    '</svg>'
  );
}

// ---------------------------------------------------------------- score histogram

/** Files per P(bona fide) bin and class, bona fide and spoof bars side by side. */
export function histogramSvg(e: Evaluation, o: { label?: string; width?: number; height?: number } = {}): string {
  const width = o.width ?? 420;
  const height = o.height ?? 220;
  const { bonafide, spoof } = e.histogram;
  const bins = bonafide.length;
  const max = Math.max(1, ...bonafide, ...spoof);
  const left = 44;
  const top = 24;
  const plotW = width - left - 10;
  const plotH = height - top - 40;
  const base = top + plotH;
  const bw = plotW / bins;
  const bar = (v: number, i: number, off: number, fill: string, cls: string) =>
    v === 0
      ? ''
      : `<rect x="${f1(left + i * bw + off)}" y="${f1(base - (v / max) * plotH)}" width="${f1(bw / 2 - 1)}" height="${f1((v / max) * plotH)}" fill="${fill}">` +
        `<title>${v} ${cls} ${v === 1 ? 'file' : 'files'}, P(bona fide) ${(i / bins).toFixed(2)}-${((i + 1) / bins).toFixed(2)}</title></rect>`;
  const step = Math.max(1, niceStep(max, 4));
  const yTicks: string[] = [];
  for (let v = 0; v <= max; v += step) {
    const yy = base - (v / max) * plotH;
    yTicks.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${f1(yy)}" y2="${f1(yy)}" stroke="${PALETTE.grid}"/>` +
        text(left - 4, yy + 3.5, tick(v), { anchor: 'end' }),
    );
  }
  return (
    svgOpen(width, height, o.label ?? 'Score histogram per class') +
    yTicks.join('') +
    `<line x1="${left}" x2="${left + plotW}" y1="${base}" y2="${base}" stroke="${PALETTE.axis}"/>` +
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${base}" stroke="${PALETTE.axis}"/>` +
    bonafide.map((v, i) => bar(v, i, 0, PALETTE.bonafide, 'bona fide')).join('') +
    spoof.map((v, i) => bar(v, i, bw / 2, PALETTE.spoof, 'spoof')).join('') +
    [0, 0.25, 0.5, 0.75, 1].map((t) => text(left + t * plotW, base + 13, tick(t), { anchor: 'middle' })).join('') +
    swatch(left + 4, 14, PALETTE.bonafide, 'bona fide') +
    swatch(left + 84, 14, PALETTE.spoof, 'spoof') +
    text(12, top + plotH / 2, 'files', { size: 11, anchor: 'middle', rotate: true }) +
    text(left + plotW / 2, height - 6, 'P(bona fide)', { size: 11, anchor: 'middle' }) +
    '</svg>'
  );
}

// ---------------------------------------------------------------- reference conditions

type Scored = Pick<ConditionResult, 'label' | 'pBonafide'>;

/** P(bona fide) per reference condition as horizontal bars, the 0.5 line dashed; conditions not run are left out. */
export function conditionsPSvg(results: readonly Scored[], o: { width?: number } = {}): string {
  const ran = results.filter((r): r is Scored & { pBonafide: number } => r.pBonafide !== undefined);
  const width = o.width ?? 420;
  const left = 150;
  const top = 8;
  const row = 22;
  const plotW = width - left - 46;
  const plotH = Math.max(1, ran.length) * row;
  const height = top + plotH + 34;
  const x = (p: number) => left + p * plotW;
  const bars = ran
    .map((r, i) => {
      const yy = top + i * row;
      return (
        text(left - 6, yy + row / 2 + 3.5, r.label, { anchor: 'end' }) +
        `<rect x="${left}" y="${f1(yy + 4)}" width="${f1(Math.max(0.5, r.pBonafide * plotW))}" height="${row - 8}" fill="${pColour(r.pBonafide)}" stroke="${PALETTE.ink}" stroke-width="0.75">` +
        `<title>${esc(r.label)}: P(bona fide) ${r.pBonafide.toFixed(4)}</title></rect>` +
        text(x(r.pBonafide) + 4, yy + row / 2 + 3.5, r.pBonafide.toFixed(3))
      );
    })
    .join('');
  const label = `P(bona fide) per condition: ${ran.map((r) => `${r.label} ${r.pBonafide.toFixed(3)}`).join(', ')}`;
  return (
    svgOpen(width, height, label) +
    [0, 0.25, 0.5, 0.75, 1]
      .map(
        (t) =>
          `<line x1="${f1(x(t))}" x2="${f1(x(t))}" y1="${top}" y2="${top + plotH}" stroke="${t === 0.5 ? PALETTE.threshold : PALETTE.grid}"${t === 0.5 ? ' stroke-dasharray="6 4"' : ''}/>` +
          text(x(t), top + plotH + 13, tick(t), { anchor: 'middle' }),
      )
      .join('') +
    bars +
    text(x(0.5), height - 6, 'P(bona fide)', { size: 11, anchor: 'middle' }) +
    '</svg>'
  );
}

type Measured = Pick<ConditionResult, 'label' | 'attnRms' | 'mlpRms'>;

/** Marker shapes of the per-layer chart, one per series: the lines stay apart without colour. */
export const MARKERS = [
  'circle',
  'square',
  'triangle',
  'diamond',
  'triangle-down',
  'plus',
  'cross',
  'star',
  'hexagon',
] as const;
/** Dash patterns of the same series (solid first), a second cue beside the marker. */
const DASHES = ['', '6 3', '2 2', '8 3 2 3', '4 4', '1 3', '10 3', '6 2 2 2 2 2', '3 2'];

/** Corners of a marker shape of radius r around (0, 0); the circle is drawn as a circle. */
function shapePoints(shape: (typeof MARKERS)[number], r: number): [number, number][] {
  const ring = (n: number, rot: number, radii: number[]) =>
    Array.from({ length: n }, (_, i) => {
      const a = rot + (2 * Math.PI * i) / n;
      const rr = radii[i % radii.length];
      return [rr * Math.cos(a), rr * Math.sin(a)] as [number, number];
    });
  const t = r * 0.38; // half the bar width of the plus and the cross
  const plus: [number, number][] = [
    [-t, -r],
    [t, -r],
    [t, -t],
    [r, -t],
    [r, t],
    [t, t],
    [t, r],
    [-t, r],
    [-t, t],
    [-r, t],
    [-r, -t],
    [-t, -t],
  ];
  switch (shape) {
    case 'square':
      return ring(4, Math.PI / 4, [r * 1.2]);
    case 'triangle':
      return ring(3, -Math.PI / 2, [r * 1.3]);
    case 'triangle-down':
      return ring(3, Math.PI / 2, [r * 1.3]);
    case 'diamond':
      return ring(4, -Math.PI / 2, [r * 1.35]);
    case 'plus':
      return plus.map(([x, y]) => [x * 1.2, y * 1.2]);
    case 'cross':
      return plus.map(([x, y]) => [(x - y) * 0.85, (x + y) * 0.85]);
    case 'star':
      return ring(10, -Math.PI / 2, [r * 1.45, r * 0.6]);
    case 'hexagon':
      return ring(6, 0, [r * 1.15]);
    default:
      return [];
  }
}

/** Series i's marker at (x, y), with a tooltip; data-shape names the shape for the tests and for CSS. */
function marker(i: number, x: number, y: number, r: number, colour: string, title = ''): string {
  const shape = MARKERS[i % MARKERS.length];
  const tip = title ? `<title>${esc(title)}</title>` : '';
  const attrs = `fill="${colour}" stroke="#ffffff" stroke-width="0.6" data-shape="${shape}" data-series="${i}"`;
  if (shape === 'circle') return `<circle cx="${f1(x)}" cy="${f1(y)}" r="${r}" ${attrs}>${tip}</circle>`;
  const pts = shapePoints(shape, r)
    .map(([dx, dy]) => `${(x + dx).toFixed(2)},${(y + dy).toFixed(2)}`)
    .join(' ');
  return `<polygon points="${pts}" ${attrs}>${tip}</polygon>`;
}

/** 1, 2 or 5 times a power of ten: the largest at or below v (down) or the smallest at or above it (up). */
function niceLog(v: number, dir: 'down' | 'up'): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((m) => m * mag);
  return dir === 'down' ? steps.filter((s) => s <= v * (1 + 1e-9)).pop()! : steps.find((s) => s >= v * (1 - 1e-9))!;
}

/** Where the per-layer chart puts a ratio (log scale) and a layer, shared by the drawing and its tests. */
export function conditionsRatioLayout(results: readonly Measured[], width = 420) {
  const series = results
    .filter((r) => r.attnRms && r.mlpRms)
    .map((r) => ({ label: r.label, ratios: r.attnRms!.map((a, l) => a / r.mlpRms![l]) }));
  const layers = Math.max(1, ...series.map((s) => s.ratios.length));
  const seen = series.flatMap((s) => s.ratios.filter((v) => Number.isFinite(v) && v > 0));
  // the axis always holds the paper's ratio, so its guide line is on the chart whatever these weights do
  const lo = niceLog(Math.min(PAPER_RATIO, ...seen) / 1.5, 'down');
  const hi = Math.max(niceLog(Math.max(PAPER_RATIO, ...seen), 'up'), lo * 10);
  const top = 8;
  const left = 52;
  const plotW = width - left - 12;
  const plotH = 150;
  const clamp = (v: number) => Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : hi));
  return {
    series,
    layers,
    lo,
    hi,
    top,
    left,
    plotW,
    plotH,
    x: (l: number) => left + (layers === 1 ? plotW / 2 : (l / (layers - 1)) * plotW),
    y: (v: number) =>
      top + plotH - ((Math.log10(clamp(v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH,
  };
}

/**
 * Per encoder layer, attention RMS over MLP RMS on a log scale, one line per condition that ran,
 * each with its own marker shape and dash as well as colour, and the paper's trained-model ratio as a
 * dashed, labelled guide line. A log axis keeps a ratio near the paper's and one a hundred times
 * larger readable on the same chart.
 */
export function conditionsRatioSvg(results: readonly Measured[], o: { width?: number } = {}): string {
  const width = o.width ?? 420;
  const { series, layers, lo, hi, top, left, plotW, plotH, x, y } = conditionsRatioLayout(results, width);
  const legendTop = top + plotH + 44;
  const perRow = 2;
  // the guide line's own legend entry follows the series
  const height = legendTop + Math.ceil((series.length + 1) / perRow) * 16 + 4;
  const grid: string[] = [];
  const decade = (v: number) => Math.floor(Math.log10(v) + 1e-9);
  for (let d = decade(lo); d <= decade(hi); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      const major = m === 1 || v === lo || v === hi;
      grid.push(
        `<line x1="${left}" x2="${left + plotW}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="${PALETTE.grid}"${major ? '' : ' stroke-opacity="0.5"'}/>` +
          (major && v !== PAPER_RATIO ? text(left - 4, y(v) + 3.5, tick(v), { anchor: 'end' }) : ''),
      );
    }
  }
  const xTicks = Array.from({ length: layers }, (_, l) =>
    text(x(l), top + plotH + 13, String(l + 1), { anchor: 'middle' }),
  );
  const lines = series
    .map((s, i) => {
      const colour = SERIES[i % SERIES.length];
      const dash = DASHES[i % DASHES.length];
      const pts = s.ratios.map((v, l) => `${f1(x(l))},${f1(y(v))}`).join(' ');
      const dots = s.ratios
        .map((v, l) => marker(i, x(l), y(v), 3, colour, `${s.label}, layer ${l + 1}: ${v.toFixed(4)}`))
        .join('');
      return `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>${dots}`;
    })
    .join('');
  const gy = y(PAPER_RATIO);
  // labelled at the axis and in the legend, not inside the plot, where a trained model's lines run along it
  const guide =
    `<line x1="${left}" x2="${left + plotW}" y1="${f1(gy)}" y2="${f1(gy)}" stroke="${PALETTE.threshold}" stroke-width="1.5" stroke-dasharray="6 4" data-guide="${PAPER_RATIO}">` +
    `<title>the paper's trained model: ${PAPER_RATIO} on every layer</title></line>` +
    `<text x="${left - 4}" y="${f1(gy + 3.5)}" font-size="10" text-anchor="end" fill="${PALETTE.threshold}" font-weight="bold">${tick(PAPER_RATIO)}</text>`;
  const legendAt = (n: number) => ({
    lx: left + (n % perRow) * (plotW / perRow),
    ly: legendTop + Math.floor(n / perRow) * 16,
  });
  const { lx: gx, ly: gly } = legendAt(series.length);
  const guideLegend =
    `<line x1="${f1(gx)}" x2="${f1(gx + 22)}" y1="${f1(gly - 3.5)}" y2="${f1(gly - 3.5)}" stroke="${PALETTE.threshold}" stroke-width="1.5" stroke-dasharray="6 4"/>` +
    text(gx + 27, gly, `paper's trained model, ${PAPER_RATIO}`);
  const legend = series
    .map((s, i) => {
      const { lx, ly } = legendAt(i);
      const colour = SERIES[i % SERIES.length];
      const dash = DASHES[i % DASHES.length];
      return (
        `<line x1="${f1(lx)}" x2="${f1(lx + 22)}" y1="${f1(ly - 3.5)}" y2="${f1(ly - 3.5)}" stroke="${colour}" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>` +
        marker(i, lx + 11, ly - 3.5, 3.5, colour) +
        text(lx + 27, ly, s.label)
      );
    })
    .join('');
  return (
    svgOpen(
      width,
      height,
      `Per encoder layer, the RMS of the attention branch divided by the RMS of the MLP branch on a log scale, one line per condition, each with its own marker shape; a dashed line marks the paper's trained model at ${PAPER_RATIO}`,
    ) +
    grid.join('') +
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="${PALETTE.axis}"/>` +
    guide +
    lines +
    xTicks.join('') +
    text(left + plotW / 2, top + plotH + 28, 'encoder layer', { size: 11, anchor: 'middle' }) +
    text(12, top + plotH / 2, 'attention / MLP RMS (log)', { size: 11, anchor: 'middle', rotate: true }) +
    legend +
    guideLegend +
    '</svg>'
  );
}
