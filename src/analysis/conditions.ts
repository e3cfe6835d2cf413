import { SAMPLE_RATE } from '../model/config';
import { formatTime } from './time';

// The paper's reference conditions (rat-spec.md "Reference conditions") as pure, seeded waveform
// generation: the same inputs and seed always give the same reference waveforms, bit for bit, so a
// rerun gives the same scores. Scoring them lives in run-conditions.ts.

export type ConditionId =
  'zero' | 'matched' | 'mismatched' | 'silence' | 'noise' | 'snr20' | 'snr10' | 'trunc1' | 'trunc3';

export interface ConditionSpec {
  id: ConditionId;
  /** Short name for charts and tables. */
  label: string;
  /** What the condition means, in plain words. */
  caption: string;
}

export const CONDITIONS: readonly ConditionSpec[] = [
  {
    id: 'zero',
    label: 'Zero vector',
    caption:
      "No reference at all: the attention sees only zeros. This is the paper's headline, reference-free setting.",
  },
  {
    id: 'matched',
    label: 'Matched reference',
    caption: 'The reference you chose: ideally another genuine recording of the claimed speaker.',
  },
  {
    id: 'mismatched',
    label: 'Mismatched reference',
    caption: 'A different clip as the reference, as if the claimed speaker were someone else.',
  },
  {
    id: 'silence',
    label: 'Silence',
    caption: 'The matched reference replaced by digital silence of the same length; it still runs through the model.',
  },
  {
    id: 'noise',
    label: 'Noise only',
    caption: 'Random (Gaussian) noise with the same energy and length as the matched reference: no speech at all.',
  },
  {
    id: 'snr20',
    label: 'Reference + noise, 20 dB',
    caption: 'The matched reference with noise added at 20 dB signal-to-noise ratio: noise at 1 % of the speech power.',
  },
  {
    id: 'snr10',
    label: 'Reference + noise, 10 dB',
    caption:
      'The matched reference with noise added at 10 dB signal-to-noise ratio: noise at 10 % of the speech power.',
  },
  { id: 'trunc1', label: 'Reference cut to 1 s', caption: 'Only the first second of the matched reference.' },
  { id: 'trunc3', label: 'Reference cut to 3 s', caption: 'Only the first three seconds of the matched reference.' },
];

/** Default noise seed; any integer gives another, equally reproducible, draw. */
export const DEFAULT_SEED = 2026;

export interface ConditionInputs {
  /** The user's reference (16 kHz mono), or null when none is chosen. */
  matched: Float32Array | null;
  /** Another clip standing in for a different speaker, or null. */
  mismatched: Float32Array | null;
  /** Seed of the noise conditions (default DEFAULT_SEED). */
  seed?: number;
}

/** One condition's reference: a waveform, the zero vector (null), or why it cannot run. */
export type ConditionReference =
  | { spec: ConditionSpec; reference: Float32Array | null; unavailable?: undefined }
  | { spec: ConditionSpec; reference?: undefined; unavailable: string };

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n samples of standard Gaussian noise (Box-Muller, in float64) from a seeded generator. */
export function gaussianNoise(n: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * rand();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** Mean of the squares (signal power), in float64. */
export function meanSquare(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? s / x.length : 0;
}

/** Seeded Gaussian noise of n samples scaled so its mean square is exactly `power`. */
export function noiseWithPower(n: number, power: number, seed: number): Float64Array {
  const g = gaussianNoise(n, seed);
  const k = Math.sqrt(power / meanSquare(g));
  for (let i = 0; i < n; i++) g[i] *= k;
  return g;
}

/** Noise with the signal's energy and length (the paper's "noise only" reference). */
export function energyMatchedNoise(signal: Float32Array, seed: number): Float32Array {
  return Float32Array.from(noiseWithPower(signal.length, meanSquare(signal), seed));
}

/** The signal plus seeded Gaussian noise at `snrDb` dB below the signal's power. */
export function addNoiseAtSnr(signal: Float32Array, snrDb: number, seed: number): Float32Array {
  const noise = noiseWithPower(signal.length, meanSquare(signal) / 10 ** (snrDb / 10), seed);
  const out = new Float32Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i] + noise[i];
  return out;
}

/** The first `seconds` of a clip (a copy), or null when the clip is shorter than that. */
export function truncateTo(signal: Float32Array, seconds: number, rate = SAMPLE_RATE): Float32Array | null {
  const n = Math.round(seconds * rate);
  return signal.length < n ? null : signal.slice(0, n);
}

/** A reference's length in the page's time format, rounded down: it is said to be shorter than a cut. */
const secs = (x: Float32Array) => formatTime(x.length / SAMPLE_RATE, 'down');

/** Every condition's reference waveform for these inputs, in CONDITIONS order; pure and seeded. */
export function conditionReferences(inputs: ConditionInputs): ConditionReference[] {
  const seed = inputs.seed ?? DEFAULT_SEED;
  const m = inputs.matched;
  const silent = m !== null && meanSquare(m) === 0;
  const needRef = 'Choose a reference clip first: this condition is built from the matched reference.';
  const noEnergy = 'The matched reference is silent: there is no speech energy to match or to add noise to.';
  // each noise condition draws from its own seed, so they are independent of each other
  const make: Record<ConditionId, () => Float32Array | null | string> = {
    zero: () => null,
    matched: () => m ?? needRef,
    mismatched: () => inputs.mismatched ?? 'Choose a second clip as the mismatched reference (another speaker).',
    silence: () => (m ? new Float32Array(m.length) : needRef),
    noise: () => (!m ? needRef : silent ? noEnergy : energyMatchedNoise(m, seed)),
    snr20: () => (!m ? needRef : silent ? noEnergy : addNoiseAtSnr(m, 20, seed + 1)),
    snr10: () => (!m ? needRef : silent ? noEnergy : addNoiseAtSnr(m, 10, seed + 2)),
    trunc1: () =>
      !m
        ? needRef
        : (truncateTo(m, 1) ?? `The matched reference is ${secs(m)} long, shorter than 1 s: it cannot be cut to 1 s.`),
    trunc3: () =>
      !m
        ? needRef
        : (truncateTo(m, 3) ?? `The matched reference is ${secs(m)} long, shorter than 3 s: it cannot be cut to 3 s.`),
  };
  return CONDITIONS.map((spec) => {
    const r = make[spec.id]();
    return typeof r === 'string' ? { spec, unavailable: r } : { spec, reference: r };
  });
}

// ---------------------------------------------------------------- what the run shows

/**
 * Attention-branch RMS over MLP-branch RMS that the paper reports for its trained model, on every
 * layer (rat-spec.md "Reference conditions"): the guide line of the per-layer chart.
 */
export const PAPER_RATIO = 0.02;

/**
 * The paper's finding, stated as what it is: a property of the trained model, which other weights
 * (the demo weights, another checkpoint, a broken conversion) need not share.
 */
export const PAPER_FINDING =
  "In the paper, training all but switched this branch off: in the trained RAT model the attention output is about 2 % of the MLP branch's (ratio ≈ 0.02), so for that model any reference, even none, silence or noise, barely moves the score (2.57 % EER without a reference, about the same with one). Other weights need not behave so; after a run, this panel says whether the weights loaded here do.";

/**
 * Below these, a run counts as behaving like the trained model: the score moves by less than a
 * twentieth across the conditions, and the attention branch stays within a small multiple of the
 * paper's ratio.
 */
export const PAPER_LIKE_SPREAD = 0.05;
export const PAPER_LIKE_RATIO = 2.5 * PAPER_RATIO;

type Outcome = {
  label: string;
  pBonafide?: number;
  attnRms?: readonly number[];
  mlpRms?: readonly number[];
  unavailable?: string;
};

export interface ConditionsFinding {
  /** Highest minus lowest P(bona fide) over the conditions that ran; null with fewer than two. */
  spread: number | null;
  /** Attention RMS over MLP RMS averaged over layers and conditions, and its largest single value; null without diagnostics. */
  meanRatio: number | null;
  maxRatio: number | null;
  /** Whether these weights behave as the paper's trained model: small spread and small ratio. */
  paperLike: boolean;
  /** What the scores did, compared with the trained model. */
  score: string;
  /** What the attention branch did, compared with the trained model; null without diagnostics. */
  ratio: string | null;
  /** Why the weights may differ: demo weights say they are untrained; null when they behave as the paper's. */
  why: string | null;
}

const sig2 = (v: number) => `${+v.toPrecision(2)}`;
/** A condition's label inside a sentence. */
const lower = (label: string) => label.charAt(0).toLowerCase() + label.slice(1);

/** The run's scores and branch sizes set against the paper's trained model, in words. */
export function conditionsFinding(results: readonly Outcome[], o: { demo: boolean }): ConditionsFinding {
  const ran = results.filter((r): r is Outcome & { pBonafide: number } => r.pBonafide !== undefined);
  const byP = [...ran].sort((a, b) => a.pBonafide - b.pBonafide);
  const lo = byP[0];
  const hi = byP[byP.length - 1];
  const spread = ran.length >= 2 ? hi.pBonafide - lo.pBonafide : null;
  const ratios = ran
    .filter((r) => r.attnRms?.length && r.mlpRms?.length)
    .map((r) => r.attnRms!.map((a, l) => a / r.mlpRms![l]).filter(Number.isFinite))
    .filter((rs) => rs.length > 0);
  const meanRatio = ratios.length
    ? ratios.reduce((s, rs) => s + rs.reduce((a, v) => a + v, 0) / rs.length, 0) / ratios.length
    : null;
  const maxRatio = ratios.length ? Math.max(...ratios.flat()) : null;
  const smallSpread = spread !== null && spread <= PAPER_LIKE_SPREAD;
  const smallRatio = meanRatio === null || meanRatio <= PAPER_LIKE_RATIO;
  const paperLike = smallSpread && smallRatio;

  // a small spread needs the table's four decimals to show at all
  const d = smallSpread ? 4 : 2;
  const range =
    spread === null
      ? ''
      : ` (${lo.pBonafide.toFixed(d)} with ${lower(lo.label)}, ${hi.pBonafide.toFixed(d)} with ${lower(hi.label)})`;
  const score =
    spread === null
      ? `${ran.length === 1 ? 'Only one condition' : 'No condition'} ran, so there is nothing to compare yet: choose a reference clip (and a mismatched one) to run the others.`
      : smallSpread
        ? `These weights move the score by at most ${spread.toFixed(d)} across the ${ran.length} conditions${range}, as the paper found for its trained model: here too the reference barely matters.`
        : `These weights move the score by up to ${spread.toFixed(2)} across the ${ran.length} conditions${range}, unlike the trained model in the paper, whose score the reference barely moves.`;
  const ratio =
    meanRatio === null
      ? null
      : meanRatio <= PAPER_LIKE_RATIO
        ? `Their attention branch averages ${sig2(meanRatio)} of the MLP branch (up to ${sig2(maxRatio!)} on one layer), near the trained model's ${PAPER_RATIO} (the dashed line): the reference channel is all but disconnected, as in the paper.`
        : `Their attention branch averages ${sig2(meanRatio)} of the MLP branch (up to ${sig2(maxRatio!)} on one layer), about ${Math.round(meanRatio / PAPER_RATIO)} times the trained model's ${PAPER_RATIO} (the dashed line): here the reference channel is connected.`;
  const why = o.demo
    ? "These are the demo weights: seeded and untrained, so they show how the panel works, not what RAT learned. Load the published checkpoint to see the paper's finding."
    : paperLike || spread === null
      ? null
      : "Weights that behave otherwise than the paper's trained model are another model: another checkpoint or training run, or a conversion that went wrong.";
  return { spread, meanRatio, maxRatio, paperLike, score, ratio, why };
}
