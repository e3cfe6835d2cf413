// Detection metrics as rat-spec.md "Evaluation metrics" defines them (ASVspoof 5 conventions, as in
// the RAT code): scores are P(bona fide), bona fide is the positive class, a clip is accepted as bona
// fide when its score >= the threshold, and thresholds run over every distinct score.

/** ASVspoof 5 detection costs (defaults: Ptar 0.95, Cmiss 1, Cfa 10). */
export interface DcfCosts {
  pTarget: number;
  cMiss: number;
  cFa: number;
}

export const ASVSPOOF5_COSTS: DcfCosts = { pTarget: 0.95, cMiss: 1, cFa: 10 };

/** One operating point: accept as bona fide when score >= threshold. */
export interface DetPoint {
  threshold: number;
  /** Bona fide rejected (FRR, Pmiss). */
  pMiss: number;
  /** Spoof accepted (FAR, Pfa). */
  pFa: number;
}

export interface Metrics {
  /** Equal error rate as a fraction. */
  eer: number;
  eerThreshold: number;
  /** Normalised minimum detection cost. */
  minDcf: number;
  minDcfThreshold: number;
  nBonafide: number;
  nSpoof: number;
  /** Every threshold's operating point, thresholds ascending (the DET curve). */
  det: DetPoint[];
}

export class MetricsError extends Error {
  override name = 'MetricsError';
}

/** Operating points at every distinct score, ascending. */
export function operatingPoints(bonafide: readonly number[], spoof: readonly number[]): DetPoint[] {
  if (!bonafide.length || !spoof.length) {
    throw new MetricsError(
      `EER and minDCF need at least one bona fide and one spoof score (got ${bonafide.length} bona fide, ${spoof.length} spoof); check the labels.`,
    );
  }
  const bad = [...bonafide, ...spoof].find((s) => !Number.isFinite(s));
  if (bad !== undefined) throw new MetricsError(`every score must be a finite number (got ${bad})`);
  const b = [...bonafide].sort((x, y) => x - y);
  const s = [...spoof].sort((x, y) => x - y);
  const thresholds = [...new Set([...b, ...s])].sort((x, y) => x - y);
  const out: DetPoint[] = [];
  // two pointers: ib = bona fide below the threshold (rejected), is = spoof below it (rejected)
  let ib = 0;
  let is = 0;
  for (const t of thresholds) {
    while (ib < b.length && b[ib] < t) ib++;
    while (is < s.length && s[is] < t) is++;
    out.push({ threshold: t, pMiss: ib / b.length, pFa: (s.length - is) / s.length });
  }
  return out;
}

/** EER and minDCF of P(bona fide) scores split by true class. */
export function computeMetrics(
  bonafide: readonly number[],
  spoof: readonly number[],
  costs: DcfCosts = ASVSPOOF5_COSTS,
): Metrics {
  const det = operatingPoints(bonafide, spoof);
  const norm = Math.min(costs.cMiss * costs.pTarget, costs.cFa * (1 - costs.pTarget));
  let eerAt = 0;
  let dcfAt = 0;
  let bestGap = Infinity;
  let bestDcf = Infinity;
  det.forEach((p, i) => {
    // strict < keeps the lowest threshold on a tie
    const gap = Math.abs(p.pMiss - p.pFa);
    if (gap < bestGap) {
      bestGap = gap;
      eerAt = i;
    }
    const dcf = (costs.cMiss * p.pMiss * costs.pTarget + costs.cFa * p.pFa * (1 - costs.pTarget)) / norm;
    if (dcf < bestDcf) {
      bestDcf = dcf;
      dcfAt = i;
    }
  });
  const e = det[eerAt];
  return {
    eer: (e.pMiss + e.pFa) / 2,
    eerThreshold: e.threshold,
    minDcf: bestDcf,
    minDcfThreshold: det[dcfAt].threshold,
    nBonafide: bonafide.length,
    nSpoof: spoof.length,
    det,
  };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9): the DET plot's axes. */
export function probit(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Counts of scores in `bins` equal-width bins over [0, 1] (a score of exactly 1 falls in the last bin). */
export function histogram(scores: readonly number[], bins = 20): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const s of scores) out[Math.min(bins - 1, Math.max(0, Math.floor(s * bins)))]++;
  return out;
}
