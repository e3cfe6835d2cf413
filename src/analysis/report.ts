import Papa from 'papaparse';
import { guardCell } from './plain-text';
import type { Evaluation } from './evaluate';
import { probit } from './metrics';
import type { TimelineSummary, WindowOptions } from './windows';

// Exports of a scored batch: CSV, JSON and a self-contained HTML report (inline CSS and SVG, no
// external resource), pure string builders shared by the app and the CLI.

export const DEMO_WARNING = 'DEMO WEIGHTS: untrained, scores carry no meaning';

export interface WeightsRef {
  label: string;
  sha256: string | null;
  demo: boolean;
  dtype?: string;
}

/** One file of a batch. A row with `error` has no score. */
export interface BatchRow {
  file: string;
  seconds: number | null;
  pBonafide: number | null;
  /** Where pBonafide comes from for a long file: the whole-file pass or the mean over windows (default single). */
  pSource?: 'single' | 'window_mean';
  verdict: 'bonafide' | 'spoof' | null;
  refMode: 'zero' | 'audio';
  /** Reference file name for an audio reference. */
  ref: string | null;
  weights: WeightsRef;
  /** SHA-256 (hex) of the audio file's bytes. */
  audioSha256: string | null;
  backend?: string;
  /** Ground truth from a labels file, when one matched. */
  label?: 'bonafide' | 'spoof' | null;
  timeline?: TimelineSummary | null;
  /** The clip is silent, constant or nearly so: its score says nothing about speech (NO_SIGNAL_WARNING). */
  noSignal?: boolean;
  error?: string;
}

export interface ReportContext {
  appVersion: string;
  /** ISO 8601 date-time of the export. */
  date: string;
  weights: WeightsRef;
  settings: { refMode: 'zero' | 'audio'; ref: string | null; windows?: WindowOptions | null; backend?: string };
  evaluation?: Evaluation | null;
}

/** Verdict at the 0.5 decision point, as the original code splits. */
export const verdictOf = (p: number): 'bonafide' | 'spoof' => (p >= 0.5 ? 'bonafide' : 'spoof');

export const CSV_COLUMNS = [
  'file',
  'seconds',
  'p_bonafide',
  'p_source',
  'verdict',
  'ref_mode',
  'ref',
  'weights_label',
  'weights_sha256',
  'demo_weights',
  'audio_sha256',
  'label',
  'timeline_windows',
  'timeline_mean_p',
  'timeline_min_p',
  'timeline_fraction_below_half',
  'error',
] as const;

/**
 * CSV with a header row; every text cell a spreadsheet would run as a formula gets a leading
 * apostrophe (papaparse's own escapeFormulae misses a value with a newline after its first line).
 */
export function buildCsv(rows: readonly BatchRow[]): string {
  const data = rows.map((r) =>
    (
      [
        r.file,
        r.seconds ?? '',
        r.pBonafide ?? '',
        r.pBonafide == null ? '' : (r.pSource ?? 'single'),
        r.verdict ?? '',
        r.refMode,
        r.ref ?? '',
        r.weights.label,
        r.weights.sha256 ?? '',
        r.weights.demo ? 'yes' : 'no',
        r.audioSha256 ?? '',
        r.label ?? '',
        r.timeline?.windows.length ?? '',
        r.timeline?.meanP ?? '',
        r.timeline?.minP ?? '',
        r.timeline?.fractionBelowHalf ?? '',
        r.error ?? '',
      ] as (string | number)[]
    ).map(guardCell),
  );
  return Papa.unparse({ fields: [...CSV_COLUMNS], data }, { escapeFormulae: false, newline: '\n' }) + '\n';
}

function rowJson(r: BatchRow) {
  if (r.error) return { file: r.file, audio_sha256: r.audioSha256, error: r.error };
  return {
    file: r.file,
    seconds: r.seconds,
    p_bonafide: r.pBonafide,
    p_source: r.pSource ?? 'single',
    verdict: r.verdict,
    ref_mode: r.refMode,
    ref: r.ref,
    weights: { label: r.weights.label, sha256: r.weights.sha256, demo: r.weights.demo },
    audio_sha256: r.audioSha256,
    ...(r.label ? { label: r.label } : {}),
    ...(r.timeline
      ? {
          timeline: {
            mean_p: r.timeline.meanP,
            min_p: r.timeline.minP,
            fraction_below_half: r.timeline.fractionBelowHalf,
            windows: r.timeline.windows,
          },
        }
      : {}),
  };
}

/** The whole export as one JSON document: context, rows and the evaluation when labels were given. */
export function buildJson(rows: readonly BatchRow[], ctx: ReportContext): string {
  const e = ctx.evaluation;
  return (
    JSON.stringify(
      {
        app: 'rat-detector',
        version: ctx.appVersion,
        date: ctx.date,
        ...(ctx.weights.demo ? { warning: DEMO_WARNING } : {}),
        weights: ctx.weights,
        settings: {
          ref_mode: ctx.settings.refMode,
          ref: ctx.settings.ref,
          windows: ctx.settings.windows ?? null,
          backend: ctx.settings.backend ?? null,
        },
        files: rows.map(rowJson),
        ...(e
          ? {
              evaluation: {
                eer: e.metrics?.eer ?? null,
                min_dcf: e.metrics?.minDcf ?? null,
                eer_threshold: e.metrics?.eerThreshold ?? null,
                n_bonafide: e.nBonafide,
                n_spoof: e.nSpoof,
                unlabelled_files: e.unlabelledFiles,
                unmatched_labels: e.unmatchedLabels,
                attacks: e.attacks,
                problem: e.problem,
              },
            }
          : {}),
      },
      null,
      2,
    ) + '\n'
  );
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML content and attribute values. */
export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);
const fmt = (v: number | null | undefined, d = 4) => (v == null ? '' : v.toFixed(d));
const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(100 * v).toFixed(2)} %`);

/** A window timeline as inline SVG: P(bona fide) at each window's centre (red below 0.5), the 0.5 line dashed, window spans as a strip. */
export function timelineSvg(t: TimelineSummary, width = 600, height = 120): string {
  const left = 28;
  const top = 8;
  const plotH = height - 40;
  const end = Math.max(...t.windows.map((w) => w.end), 1e-9);
  const x = (sec: number) => left + (sec / end) * (width - left - 8);
  const y = (p: number) => top + (1 - p) * plotH;
  const pts = t.windows.map((w) => `${x((w.start + w.end) / 2).toFixed(1)},${y(w.pBonafide).toFixed(1)}`).join(' ');
  const dots = t.windows
    .map(
      (w) =>
        `<circle cx="${x((w.start + w.end) / 2).toFixed(1)}" cy="${y(w.pBonafide).toFixed(1)}" r="3" fill="${w.pBonafide >= 0.5 ? '#2e7d32' : '#c62828'}"><title>${w.start.toFixed(1)}-${w.end.toFixed(1)} s: ${w.pBonafide.toFixed(4)}</title></circle>`,
    )
    .join('');
  const strip = t.windows
    .map(
      (w, i) =>
        `<rect x="${x(w.start).toFixed(1)}" y="${(top + plotH + 4 + (i % 2) * 5).toFixed(1)}" width="${Math.max(1, x(w.end) - x(w.start)).toFixed(1)}" height="4" fill="${w.pBonafide >= 0.5 ? '#2e7d32' : '#c62828'}" fill-opacity="0.6"/>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="P(bona fide) per window">` +
    `<rect x="${left}" y="${top}" width="${width - left - 8}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>` +
    `<line x1="${left}" x2="${width - 8}" y1="${y(0.5)}" y2="${y(0.5)}" stroke="#333" stroke-dasharray="4 3"/>` +
    `<polyline points="${pts}" fill="none" stroke="#1f4e8c" stroke-width="1.5"/>${dots}${strip}` +
    `<text x="${left - 4}" y="${y(1) + 4}" font-size="10" text-anchor="end">1</text><text x="${left - 4}" y="${y(0.5) + 4}" font-size="10" text-anchor="end">0.5</text><text x="${left - 4}" y="${y(0) + 4}" font-size="10" text-anchor="end">0</text>` +
    `<text x="${left}" y="${height - 4}" font-size="10">0 s</text><text x="${width - 8}" y="${height - 4}" font-size="10" text-anchor="end">${end.toFixed(1)} s</text></svg>`
  );
}

const DET_TICKS = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99];

/** DET curve (probit axes, 0.1 % to 99 %) as inline SVG, EER point marked. */
export function detSvg(e: Evaluation, size = 320): string {
  if (!e.metrics) return '';
  const lo = probit(0.001);
  const hi = probit(0.99);
  const pad = 40;
  const span = size - 2 * pad;
  const clamp = (p: number) => Math.min(hi, Math.max(lo, probit(Math.min(Math.max(p, 1e-6), 1 - 1e-6))));
  const px = (p: number) => pad + ((clamp(p) - lo) / (hi - lo)) * span;
  const py = (p: number) => size - pad - ((clamp(p) - lo) / (hi - lo)) * span;
  const pts = e.metrics.det.map((d) => `${px(d.pFa).toFixed(1)},${py(d.pMiss).toFixed(1)}`).join(' ');
  const ticks = DET_TICKS.map(
    (t) =>
      `<text x="${px(t).toFixed(1)}" y="${size - pad + 14}" font-size="10" text-anchor="middle">${+(100 * t).toPrecision(2)}</text>` +
      `<text x="${pad - 4}" y="${(py(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${+(100 * t).toPrecision(2)}</text>`,
  ).join('');
  const eer = e.metrics.eer;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="DET curve">` +
    `<rect x="${pad}" y="${pad}" width="${span}" height="${span}" fill="#fafafa" stroke="#999"/>` +
    `<line x1="${pad}" y1="${size - pad}" x2="${size - pad}" y2="${pad}" stroke="#bbb" stroke-dasharray="3 3"/>` +
    `<polyline points="${pts}" fill="none" stroke="#1f4e8c" stroke-width="2"/>` +
    `<circle cx="${px(eer).toFixed(1)}" cy="${py(eer).toFixed(1)}" r="4" fill="#c62828"><title>EER ${pct(eer)}</title></circle>${ticks}` +
    `<text x="${size / 2}" y="${size - 8}" font-size="11" text-anchor="middle">spoof accepted (%)</text>` +
    `<text x="12" y="${size / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">bona fide rejected (%)</text></svg>`
  );
}

/** Score histogram per class (bins over [0, 1]) as inline SVG, with the largest count marked. */
export function histogramSvg(e: Evaluation, width = 420, height = 200): string {
  const { bonafide, spoof } = e.histogram;
  const bins = bonafide.length;
  const max = Math.max(1, ...bonafide, ...spoof);
  const left = 30;
  const plotW = width - left - 10;
  const plotH = height - 50;
  const bw = plotW / bins;
  const base = 10 + plotH;
  const bar = (v: number, i: number, off: number, fill: string) =>
    v === 0
      ? ''
      : `<rect x="${(left + i * bw + off).toFixed(1)}" y="${(base - (v / max) * plotH).toFixed(1)}" width="${(bw / 2 - 1).toFixed(1)}" height="${((v / max) * plotH).toFixed(1)}" fill="${fill}"><title>${v}</title></rect>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Score histogram per class">` +
    `<line x1="${left}" x2="${left + plotW}" y1="${base}" y2="${base}" stroke="#999"/><line x1="${left}" x2="${left}" y1="10" y2="${base}" stroke="#999"/>` +
    bonafide.map((v, i) => bar(v, i, 0, '#2e7d32')).join('') +
    spoof.map((v, i) => bar(v, i, bw / 2, '#c62828')).join('') +
    `<text x="${left - 4}" y="14" font-size="10" text-anchor="end">${max}</text><text x="${left - 4}" y="${base}" font-size="10" text-anchor="end">0</text>` +
    [0, 0.25, 0.5, 0.75, 1]
      .map(
        (t) =>
          `<text x="${(left + t * plotW).toFixed(1)}" y="${base + 13}" font-size="10" text-anchor="middle">${t}</text>`,
      )
      .join('') +
    `<text x="${left + plotW / 2}" y="${height - 8}" font-size="11" text-anchor="middle">P(bona fide): bona fide (green), spoof (red); files per bin</text></svg>`
  );
}

/** A self-contained HTML report: no scripts, no external resources. */
export function buildHtml(rows: readonly BatchRow[], ctx: ReportContext): string {
  const w = ctx.weights;
  const e = ctx.evaluation;
  const win = ctx.settings.windows;
  const body = rows
    .map(
      (r) =>
        `<tr><td>${esc(r.file)}</td><td>${r.seconds == null ? '' : r.seconds.toFixed(2)}</td>` +
        (r.error
          ? `<td colspan="2" class="err">${esc(r.error)}</td>`
          : `<td>${fmt(r.pBonafide)}${r.pSource === 'window_mean' ? ' (window mean)' : ''}</td><td>${esc(r.verdict === 'bonafide' ? 'bona fide' : 'spoof')}</td>`) +
        `<td>${esc(r.refMode === 'zero' ? 'zero vector' : `audio: ${r.ref ?? ''}`)}</td><td>${esc(r.label ?? '')}</td><td class="mono">${esc(r.audioSha256 ?? '')}</td></tr>`,
    )
    .join('\n');
  const timelines = rows
    .filter((r) => r.timeline?.windows.length)
    .map(
      (r) =>
        `<figure><figcaption>${esc(r.file)}: mean window P(bona fide) ${fmt(r.timeline!.meanP)}, minimum ${fmt(r.timeline!.minP)}, ` +
        `${(100 * r.timeline!.fractionBelowHalf).toFixed(0)} % of ${r.timeline!.windows.length} windows below 0.5</figcaption>${timelineSvg(r.timeline!)}</figure>`,
    )
    .join('\n');
  const evalHtml = e
    ? `<h2>Labelled evaluation</h2>
<p>${e.metrics ? `EER <strong>${pct(e.metrics.eer)}</strong> (threshold ${fmt(e.metrics.eerThreshold)}), minDCF <strong>${fmt(e.metrics.minDcf)}</strong> (ASVspoof 5 costs: Ptar 0.95, Cmiss 1, Cfa 10)` : esc(e.problem ?? '')}; ${e.nBonafide} bona fide, ${e.nSpoof} spoof.</p>
${e.unlabelledFiles.length ? `<p>Files without a label (left out): ${esc(e.unlabelledFiles.join(', '))}</p>` : ''}
${e.unmatchedLabels.length ? `<p>Labels with no scored file (${e.unmatchedLabels.length}): ${esc(e.unmatchedLabels.slice(0, 50).join(', '))}${e.unmatchedLabels.length > 50 ? ', …' : ''}</p>` : ''}
${e.sharedIds.length ? `<p>Several files share a name (without extension) and one label; each is counted: ${esc(e.sharedIds.join(', '))}</p>` : ''}
${e.metrics ? `<div class="charts">${detSvg(e)}${histogramSvg(e)}</div>` : ''}
${e.attacks.length ? `<table><thead><tr><th>Attack</th><th>Tags</th><th>Files</th><th>EER vs bona fide</th></tr></thead><tbody>${e.attacks.map((a) => `<tr><td>${esc(a.attack)}</td><td>${esc(a.tags)}</td><td>${a.n}</td><td>${a.eer == null ? '' : pct(a.eer)}</td></tr>`).join('')}</tbody></table>` : ''}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RAT detector report ${esc(ctx.date)}</title>
<style>
body{font-family:system-ui,sans-serif;color:#1d232b;max-width:70rem;margin:1rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}
.mono{font-family:ui-monospace,monospace;font-size:.75rem;word-break:break-all}.warn{background:#fff3cd;border:2px solid #8a6700;padding:.5rem .7rem}
.err{color:#912018}.charts{display:flex;flex-wrap:wrap;gap:1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dd{margin:0}
</style></head><body>
<h1>RAT audio deepfake detector: report</h1>
${w.demo ? `<p class="warn" id="demo-warning"><strong>${DEMO_WARNING}.</strong> These weights are untrained; the scores below are not evidence of anything.</p>` : ''}
<dl>
<dt>Date</dt><dd>${esc(ctx.date)}</dd>
<dt>App version</dt><dd>rat-detector ${esc(ctx.appVersion)}</dd>
<dt>Weights</dt><dd>${esc(w.label)}${w.dtype ? ` (${esc(w.dtype)})` : ''}</dd>
<dt>Weights SHA-256</dt><dd class="mono">${esc(w.sha256 ?? 'unknown')}</dd>
<dt>Reference</dt><dd>${esc(ctx.settings.refMode === 'zero' ? 'zero vector (no reference)' : `audio: ${ctx.settings.ref ?? ''}`)}</dd>
<dt>Windowing</dt><dd>${win ? `files over ${win.limitSeconds} s as ${win.windowSeconds} s windows every ${win.hopSeconds} s` : 'off (whole files)'}</dd>
${ctx.settings.backend ? `<dt>Backend</dt><dd>${esc(ctx.settings.backend)}</dd>` : ''}
<dt>Files</dt><dd>${rows.length} (${rows.filter((r) => r.error).length} failed)</dd>
</dl>
<h2>Scores</h2>
<p>P(bona fide) is the model's probability that the speech is genuine; the verdict splits at 0.5. One score is evidence, not proof.</p>
<table><thead><tr><th>File</th><th>Seconds</th><th>P(bona fide)</th><th>Verdict at 0.5</th><th>Reference</th><th>Label</th><th>Audio SHA-256</th></tr></thead>
<tbody>
${body}
</tbody></table>
${timelines ? `<h2>Timelines</h2>\n${timelines}` : ''}
${evalHtml}
</body></html>
`;
}
