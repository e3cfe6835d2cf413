import { detSvg, esc, histogramSvg, timelineSvg } from './charts';
import { PALETTE } from './palette';
import { DEMO_WARNING, type ReportContext, type ResultRow, VARIES, type WeightsRef, sharedSettings } from './result';
import type { WindowOptions } from './windows';
import { verdictText } from './verdict';

// The self-contained HTML report of a scored batch (inline CSS and SVG, no external resource), a
// pure string builder shared by the app and the CLI; CSV and JSON are written in result.ts.

const fmt = (v: number | null | undefined, d = 4) => (v == null ? '' : v.toFixed(d));
const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(100 * v).toFixed(2)} %`);

/** The verdict column: the one wording of verdict.ts, coloured by its tone. */
function verdictCell(p: number | null): string {
  if (p == null) return '<td></td>';
  const v = verdictText(p);
  return `<td class="verdict ${v.tone}">${esc(v.text)}</td>`;
}

/** A reference in words: the zero vector, or the file with its SHA-256. */
const refText = (mode: 'zero' | 'audio', name: string | null, sha256?: string | null) =>
  mode === 'zero' ? 'zero vector (no reference)' : `audio: ${name ?? ''}${sha256 ? ` (SHA-256 ${sha256})` : ''}`;

/** The weights all rows share, with their hash; VARIES when they differ. */
function weightsText(w: WeightsRef | typeof VARIES | null): string {
  if (w === VARIES) return esc(VARIES);
  if (!w) return 'none';
  return `${esc(w.label)}${w.dtype ? ` (${esc(w.dtype)})` : ''}<br><span class="mono">SHA-256 ${esc(w.sha256 ?? 'unknown')}</span>`;
}

/** Window settings in words; VARIES when rows differ. */
function windowsText(w: WindowOptions | typeof VARIES | null): string {
  if (w === VARIES) return VARIES;
  if (!w) return 'none';
  return `files over ${w.limitSeconds} s as ${w.windowSeconds} s windows every ${w.hopSeconds} s; a whole-file pass up to ${w.singlePassMaxSeconds} s`;
}

/** A self-contained HTML report: no scripts, no external resources. */
export function buildHtml(rows: readonly ResultRow[], ctx: ReportContext): string {
  const e = ctx.evaluation;
  const shared = sharedSettings(rows);
  const body = rows
    .map(
      (r) =>
        `<tr><td>${esc(r.file)}</td><td>${r.seconds == null ? '' : r.seconds.toFixed(2)}</td>` +
        (r.error
          ? `<td colspan="2" class="err">${esc(r.error)}</td>`
          : `<td>${fmt(r.pBonafide)}${r.pSource === 'window_mean' ? ' (window mean)' : ''}</td>${verdictCell(r.pBonafide)}`) +
        `<td>${esc(refText(r.refMode, r.ref, r.refSha256))}</td><td>${esc(r.backend ?? '')}</td><td>${esc(r.scoredAt ?? '')}</td>` +
        `<td>${esc(r.label ?? '')}</td><td class="mono">${esc(r.audioSha256 ?? '')}</td></tr>`,
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
body{font-family:system-ui,sans-serif;color:${PALETTE.ink};max-width:70rem;margin:1rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}
.mono{font-family:ui-monospace,monospace;font-size:.75rem;word-break:break-all}.warn{background:#fff3cd;border:2px solid #8a6700;padding:.5rem .7rem}
.err{color:#912018}.notes{white-space:pre-wrap}.verdict.bona{color:${PALETTE.bonafide}}.verdict.spoof{color:${PALETTE.spoof}}.verdict.unsure{color:${PALETTE.uncertain}}.charts{display:flex;flex-wrap:wrap;gap:1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dd{margin:0}
</style></head><body>
<h1>RAT audio deepfake detector: report</h1>
${shared.demo ? `<p class="warn" id="demo-warning"><strong>${DEMO_WARNING}.</strong> These weights are untrained; the scores below are not evidence of anything.</p>` : ''}
<dl>
${ctx.caseId ? `<dt>Case</dt><dd>${esc(ctx.caseId)}</dd>` : ''}
${ctx.notes ? `<dt>Notes</dt><dd class="notes">${esc(ctx.notes)}</dd>` : ''}
<dt>Date</dt><dd>${esc(ctx.date)}</dd>
<dt>App version</dt><dd>rat-detector ${esc(ctx.appVersion)}</dd>
<dt>Weights</dt><dd>${weightsText(shared.weights)}</dd>
<dt>Reference</dt><dd>${esc(shared.reference === VARIES ? VARIES : shared.reference ? refText(shared.reference.mode, shared.reference.name, shared.reference.sha256) : 'none')}</dd>
<dt>Windowing</dt><dd>${esc(windowsText(shared.windows))}</dd>
<dt>Backend</dt><dd>${esc(shared.backend ?? 'none')}</dd>
<dt>Files</dt><dd>${rows.length} (${rows.filter((r) => r.error).length} failed)</dd>
</dl>
<h2>Scores</h2>
<p>P(bona fide) is the model's probability that the speech is genuine; the verdict splits at 0.5. One score is evidence, not proof.</p>
${rows.some((r) => r.span) ? '<p id="stretch-note">A file name followed by [start–end] (m:ss.s) is a stretch of that file scored on its own; its Seconds are the stretch&#39;s length. Stretches are left out of the labelled evaluation.</p>' : ''}
<table><thead><tr><th>File</th><th>Seconds</th><th>P(bona fide)</th><th>Verdict at 0.5</th><th>Reference</th><th>Backend</th><th>Scored at</th><th>Label</th><th>Audio SHA-256</th></tr></thead>
<tbody>
${body}
</tbody></table>
${timelines ? `<h2>Timelines</h2>\n${timelines}` : ''}
${evalHtml}
</body></html>
`;
}
