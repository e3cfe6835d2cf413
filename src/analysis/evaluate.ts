import { type LabelSet, matchLabels } from './labels';
import { type Metrics, computeMetrics, histogram } from './metrics';

// Labelled evaluation of a scored batch: match, split by class, EER/minDCF overall and per attack.

export interface AttackRow {
  /** Attack label (A01..), or "bonafide", or "(none)" for spoofs the labels name no attack for. */
  attack: string;
  /** Attack tags seen with it (ASVspoof 5's condition column), joined with ", ". */
  tags: string;
  n: number;
  /** EER of this attack's spoofs against every bona fide file; null for the bona fide row. */
  eer: number | null;
}

export interface Evaluation {
  /** Null when one class is missing (the reason is in `problem`). */
  metrics: Metrics | null;
  problem: string | null;
  nBonafide: number;
  nSpoof: number;
  unlabelledFiles: string[];
  unmatchedLabels: string[];
  /** Label ids matched by more than one file (each file counts). */
  sharedIds: string[];
  /** Counts (and EER) per attack, present when the labels name attacks. */
  attacks: AttackRow[];
  /** 20 bins over [0, 1] per class. */
  histogram: { bonafide: number[]; spoof: number[] };
}

/**
 * Evaluates P(bona fide) scores of named files against labels. Whole-file scores only: the caller
 * leaves out files that failed to score and stretch rows (ResultRow.span, the page's "Score this
 * stretch"), whose score is not the file's and would count the file twice; the CLI scores whole files only.
 */
export function evaluate(scores: readonly { file: string; score: number }[], set: LabelSet): Evaluation {
  const m = matchLabels(scores, set);
  const bona = m.matched.filter((x) => x.label.key === 'bonafide').map((x) => x.score);
  const spoof = m.matched.filter((x) => x.label.key === 'spoof').map((x) => x.score);
  let metrics: Metrics | null = null;
  let problem: string | null = null;
  if (bona.length && spoof.length) metrics = computeMetrics(bona, spoof);
  else
    problem = `EER and minDCF need at least one labelled bona fide and one labelled spoof file; matched ${bona.length} bona fide and ${spoof.length} spoof.`;
  const groups = new Map<string, { scores: number[]; tags: Set<string>; key: string }>();
  if (m.matched.some((x) => x.label.attack)) {
    for (const x of m.matched) {
      const name = x.label.key === 'bonafide' ? 'bonafide' : (x.label.attack ?? '(none)');
      const g = groups.get(name) ?? { scores: [], tags: new Set<string>(), key: x.label.key };
      g.scores.push(x.score);
      if (x.label.attackTag) g.tags.add(x.label.attackTag);
      groups.set(name, g);
    }
  }
  const attacks = [...groups.entries()]
    .sort(([a], [b]) => (a === 'bonafide' ? -1 : b === 'bonafide' ? 1 : a.localeCompare(b, 'en', { numeric: true })))
    .map(([attack, g]) => ({
      attack,
      tags: [...g.tags].sort().join(', '),
      n: g.scores.length,
      eer: g.key === 'spoof' && bona.length ? computeMetrics(bona, g.scores).eer : null,
    }));
  return {
    metrics,
    problem,
    nBonafide: bona.length,
    nSpoof: spoof.length,
    unlabelledFiles: m.unlabelledFiles,
    unmatchedLabels: m.unmatchedLabels,
    sharedIds: m.sharedIds,
    attacks,
    histogram: { bonafide: histogram(bona), spoof: histogram(spoof) },
  };
}
