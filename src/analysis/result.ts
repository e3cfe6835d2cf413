import Papa from 'papaparse';
import { NO_SIGNAL_WARNING } from '../audio/limits';
import type { Evaluation } from './evaluate';
import { guardCell } from './plain-text';
import type { PSource } from './score-clip';
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

/** One file of a batch. A row with `error` has no score. */
export interface ResultRow {
  file: string;
  seconds: number | null;
  pBonafide: number | null;
  /** Where pBonafide comes from for a long file: the whole-file pass or the mean over windows (default single). */
  pSource?: PSource;
  /** Logits of the whole-file pass; null when only windows were scored. */
  logits?: [number, number] | null;
  verdict: 'bonafide' | 'spoof' | null;
  refMode: 'zero' | 'audio';
  /** Reference file name for an audio reference. */
  ref: string | null;
  weights: WeightsRef;
  /** SHA-256 (hex) of the audio file's bytes. */
  audioSha256: string | null;
  backend?: string;
  /** Milliseconds the scoring took (reading and decoding not included). */
  elapsedMs?: number;
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

/** A file's JSON object (the CLI's --json line, an entry of the page's JSON export). */
export function rowJson(r: ResultRow, windows?: WindowOptions | null) {
  if (r.error) return { file: r.file, audio_sha256: r.audioSha256, error: r.error };
  const t = r.timeline;
  return {
    file: r.file,
    p_bonafide: r.pBonafide,
    p_source: r.pSource ?? 'single',
    logits: r.logits ?? null,
    verdict: r.verdict,
    ref_mode: r.refMode,
    ref: r.ref,
    seconds: r.seconds,
    ...(r.elapsedMs !== undefined ? { elapsed_ms: Math.round(r.elapsedMs * 10) / 10 } : {}),
    backend: r.backend ?? null,
    weights: r.weights,
    audio_sha256: r.audioSha256,
    ...(r.label ? { label: r.label } : {}),
    ...(t
      ? {
          timeline: {
            mean_p: t.meanP,
            min_p: t.minP,
            fraction_below_half: t.fractionBelowHalf,
            ...(windows ? { window_s: windows.windowSeconds, hop_s: windows.hopSeconds } : {}),
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
export function buildCsv(rows: readonly ResultRow[]): string {
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

/** The whole export as one JSON document: context, rows and the evaluation when labels were given. */
export function buildJson(rows: readonly ResultRow[], ctx: ReportContext): string {
  const e = ctx.evaluation;
  const windows = ctx.settings.windows ?? null;
  const doc = {
    app: 'rat-detector',
    version: ctx.appVersion,
    date: ctx.date,
    ...(ctx.weights.demo ? { warning: DEMO_WARNING } : {}),
    weights: ctx.weights,
    settings: {
      ref_mode: ctx.settings.refMode,
      ref: ctx.settings.ref,
      windows: windows && {
        limit_s: windows.limitSeconds,
        window_s: windows.windowSeconds,
        hop_s: windows.hopSeconds,
        single_pass_max_s: windows.singlePassMaxSeconds,
      },
      backend: ctx.settings.backend ?? null,
    },
    files: rows.map((r) => rowJson(r, windows)),
    ...(e ? { evaluation: evaluationJson(e) } : {}),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
