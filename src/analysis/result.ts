import Papa from 'papaparse';
import { NO_SIGNAL_WARNING } from '../audio/limits';
import type { Evaluation } from './evaluate';
import { guardCell } from './plain-text';
import type { PSource } from './score-clip';
import { formatTime } from './time';
import type { TimelineSummary, WindowOptions } from './windows';

// The one result schema: a row per file from the scorer to every output. The CLI's --json lines,
// its --csv, the page's table and its CSV/JSON/HTML exports all read ResultRow, and every JSON
// shape (a file, the evaluation) is written here, in snake_case, once.

export const DEMO_WARNING = 'DEMO WEIGHTS: untrained, scores carry no meaning';

export interface WeightsRef {
  label: string;
  sha256: string | null;
  demo: boolean;
  dtype?: string;
}

/** A stretch of a file, in seconds from the file's start. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The name a stretch's row carries, so that every table and export shows it is not the whole file:
 * the file's name and the stretch in the page's time format, e.g. "name.wav [0:01.2–0:03.4]".
 */
export function stretchName(file: string, span: Span): string {
  return `${file} [${formatTime(span.start)}–${formatTime(span.end)}]`;
}

/** One file of a batch, or one stretch of a file (`span`). A row with `error` has no score. */
export interface ResultRow {
  /** The file's name; for a stretch, stretchName(file, span). */
  file: string;
  /** Length of the audio scored (for a stretch, the stretch's). */
  seconds: number | null;
  /**
   * The stretch of the file that was scored on its own (seconds from the file's start); null or
   * absent for a whole-file row, which is every row of the CLI. A stretch's score is not its file's:
   * the labelled evaluation leaves these rows out.
   */
  span?: Span | null;
  pBonafide: number | null;
  /** Where pBonafide comes from for a long file: the whole-file pass or the mean over windows (default single). */
  pSource?: PSource;
  /** Logits of the whole-file pass; null when only windows were scored. */
  logits?: [number, number] | null;
  verdict: 'bonafide' | 'spoof' | null;
  refMode: 'zero' | 'audio';
  /** Reference file name for an audio reference. */
  ref: string | null;
  /** SHA-256 (hex) of the reference file's bytes; null for the zero vector. */
  refSha256?: string | null;
  weights: WeightsRef;
  /** SHA-256 (hex) of the audio file's bytes. */
  audioSha256: string | null;
  backend?: string;
  /** Milliseconds the scoring took (reading and decoding not included). */
  elapsedMs?: number;
  /** The window settings the file was scored under. */
  windows?: WindowOptions;
  /** ISO 8601 date-time the score was computed. */
  scoredAt?: string;
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
  /** The analyst's case reference, written on every export (optional). */
  caseId?: string;
  /** Free text for the case file (optional). */
  notes?: string;
  evaluation?: Evaluation | null;
}

/** What a setting reads when the rows of one export were scored under different values. */
export const VARIES = 'varies, see rows';

/** The one value every item has, or VARIES; null when there are no items. */
function common<T>(items: readonly T[]): T | typeof VARIES | null {
  if (!items.length) return null;
  const first = JSON.stringify(items[0]);
  return items.every((x) => JSON.stringify(x) === first) ? items[0] : VARIES;
}

/** The settings an export's rows share (each one a value, or VARIES): what a report's header may state for all rows. */
export function sharedSettings(rows: readonly ResultRow[]) {
  const scored = rows.filter((r) => !r.error);
  return {
    weights: common(rows.map((r) => r.weights)),
    reference: common(rows.map((r) => ({ mode: r.refMode, name: r.ref, sha256: r.refSha256 ?? null }))),
    backend: common(scored.map((r) => r.backend ?? null)),
    windows: common(scored.map((r) => r.windows ?? null)),
    /** Any row scored on the demo weights. */
    demo: rows.some((r) => r.weights.demo),
  };
}

/** Window settings as JSON. */
const windowsJson = (w: WindowOptions) => ({
  limit_s: w.limitSeconds,
  window_s: w.windowSeconds,
  hop_s: w.hopSeconds,
  single_pass_max_s: w.singlePassMaxSeconds,
});

/**
 * What to change after a pass ran out of memory, in the words of the place the settings live
 * (the CLI's flags or the page's window settings).
 */
export function outOfMemoryAdvice(w: WindowOptions, where: 'cli' | 'page'): string {
  if (where === 'cli') {
    return (
      `Lower --single-pass-max (now ${w.singlePassMaxSeconds} s) or --window-limit (now ${w.limitSeconds} s) ` +
      `so long files are scored in ${w.windowSeconds} s windows.`
    );
  }
  return (
    `Lower "Whole-file pass up to" (now ${w.singlePassMaxSeconds} s) or "Window files longer than" ` +
    `(now ${w.limitSeconds} s) in the window settings, then Rescore.`
  );
}

/** A file's JSON object (the CLI's --json line, an entry of the page's JSON export): what was scored, with what, and when. */
export function rowJson(r: ResultRow) {
  const span = { span_start_s: r.span?.start ?? null, span_end_s: r.span?.end ?? null };
  if (r.error) return { file: r.file, audio_sha256: r.audioSha256, ...(r.span ? span : {}), error: r.error };
  const t = r.timeline;
  return {
    file: r.file,
    p_bonafide: r.pBonafide,
    p_source: r.pSource ?? 'single',
    logits: r.logits ?? null,
    verdict: r.verdict,
    ref_mode: r.refMode,
    ref: r.ref,
    ref_sha256: r.refSha256 ?? null,
    seconds: r.seconds,
    ...span,
    ...(r.elapsedMs !== undefined ? { elapsed_ms: Math.round(r.elapsedMs * 10) / 10 } : {}),
    backend: r.backend ?? null,
    weights: r.weights,
    windows: r.windows ? windowsJson(r.windows) : null,
    scored_at: r.scoredAt ?? null,
    audio_sha256: r.audioSha256,
    ...(r.label ? { label: r.label } : {}),
    ...(t
      ? {
          timeline: {
            mean_p: t.meanP,
            min_p: t.minP,
            fraction_below_half: t.fractionBelowHalf,
            windows: t.windows.map((x) => ({ start: x.start, end: x.end, p_bonafide: x.pBonafide })),
          },
        }
      : {}),
    ...(r.weights.demo ? { warning: DEMO_WARNING } : {}),
    ...(r.noSignal ? { signal_warning: NO_SIGNAL_WARNING } : {}),
  };
}

/** The evaluation's JSON object (the CLI's last --json line with --labels, the `evaluation` of the page's export). */
export function evaluationJson(e: Evaluation) {
  return {
    eer: e.metrics?.eer ?? null,
    min_dcf: e.metrics?.minDcf ?? null,
    eer_threshold: e.metrics?.eerThreshold ?? null,
    min_dcf_threshold: e.metrics?.minDcfThreshold ?? null,
    n_bonafide: e.nBonafide,
    n_spoof: e.nSpoof,
    unlabelled_files: e.unlabelledFiles,
    unmatched_labels: e.unmatchedLabels,
    ...(e.sharedIds.length ? { shared_ids: e.sharedIds } : {}),
    attacks: e.attacks.map((a) => ({ attack: a.attack, tags: a.tags, n: a.n, eer: a.eer })),
    ...(e.problem ? { problem: e.problem } : {}),
  };
}

export const CSV_COLUMNS = [
  'file',
  'seconds',
  'p_bonafide',
  'p_source',
  'verdict',
  'ref_mode',
  'ref',
  'ref_sha256',
  'backend',
  'weights_label',
  'weights_sha256',
  'demo_weights',
  'audio_sha256',
  'label',
  'timeline_windows',
  'timeline_mean_p',
  'timeline_min_p',
  'timeline_fraction_below_half',
  'window_limit_s',
  'window_s',
  'hop_s',
  'single_pass_max_s',
  'scored_at',
  'case_id',
  'error',
  // added later, at the end, so that the earlier columns keep their places
  'span_start_s',
  'span_end_s',
] as const;

/**
 * CSV with a header row; every text cell a spreadsheet would run as a formula gets a leading
 * apostrophe (papaparse's own escapeFormulae misses a value with a newline after its first line).
 */
export function buildCsv(rows: readonly ResultRow[], caseId = ''): string {
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
        r.refSha256 ?? '',
        r.backend ?? '',
        r.weights.label,
        r.weights.sha256 ?? '',
        r.weights.demo ? 'yes' : 'no',
        r.audioSha256 ?? '',
        r.label ?? '',
        r.timeline?.windows.length ?? '',
        r.timeline?.meanP ?? '',
        r.timeline?.minP ?? '',
        r.timeline?.fractionBelowHalf ?? '',
        r.windows?.limitSeconds ?? '',
        r.windows?.windowSeconds ?? '',
        r.windows?.hopSeconds ?? '',
        r.windows?.singlePassMaxSeconds ?? '',
        r.scoredAt ?? '',
        caseId,
        r.error ?? '',
        r.span?.start ?? '',
        r.span?.end ?? '',
      ] as (string | number)[]
    ).map(guardCell),
  );
  return Papa.unparse({ fields: [...CSV_COLUMNS], data }, { escapeFormulae: false, newline: '\n' }) + '\n';
}

/** The whole export as one JSON document: the case, the settings all rows share, the rows and the evaluation. */
export function buildJson(rows: readonly ResultRow[], ctx: ReportContext): string {
  const e = ctx.evaluation;
  const shared = sharedSettings(rows);
  const ref = shared.reference;
  const win = shared.windows;
  const doc = {
    app: 'rat-detector',
    version: ctx.appVersion,
    date: ctx.date,
    case_id: ctx.caseId || null,
    notes: ctx.notes || null,
    ...(shared.demo ? { warning: DEMO_WARNING } : {}),
    weights: shared.weights,
    settings: {
      ref_mode: ref && ref !== VARIES ? ref.mode : ref,
      ref: ref && ref !== VARIES ? ref.name : ref,
      ref_sha256: ref && ref !== VARIES ? ref.sha256 : ref,
      windows: win && win !== VARIES ? windowsJson(win) : win,
      backend: shared.backend,
    },
    files: rows.map(rowJson),
    ...(e ? { evaluation: evaluationJson(e) } : {}),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
