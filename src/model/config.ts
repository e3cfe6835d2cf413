/** One RAT model's sizes: what the checkpoint's shapes say plus what they cannot (strides, heads). */
export interface RatConfig {
  /** Conv feature extractor, one [channels, kernel, stride] per layer; XLS-R: 7 layers, 512 channels. */
  convLayers: [number, number, number][];
  /** Transformer width D (1024 for XLS-R 300M). */
  embedDim: number;
  /** Encoder layers L (24). */
  numLayers: number;
  /** Encoder self-attention heads (16). */
  numHeads: number;
  /** Encoder feed-forward width (4096). */
  ffnDim: number;
  /** Positional grouped convolution kernel (128) and groups (16). */
  posConvKernel: number;
  posConvGroups: number;
  /** Reference-informed block: cross-attention heads (4) and MLP width (4 D). */
  ribHeads: number;
  ribMlpDim: number;
  /** Classifier hidden widths ([D/2, D/4]); the output is always 2 logits [bona fide, spoof]. */
  classifierDims: [number, number];
  /** LayerNorm and BatchNorm epsilon (1e-5 everywhere in XLS-R and RAT). */
  eps: number;
}

/** The published RAT checkpoint: XLS-R 300M frontend, 4-head reference-informed block. */
export const XLSR_300M_RAT: RatConfig = {
  convLayers: [
    [512, 10, 5],
    [512, 3, 2],
    [512, 3, 2],
    [512, 3, 2],
    [512, 3, 2],
    [512, 2, 2],
    [512, 2, 2],
  ],
  embedDim: 1024,
  numLayers: 24,
  numHeads: 16,
  ffnDim: 4096,
  posConvKernel: 128,
  posConvGroups: 16,
  ribHeads: 4,
  ribMlpDim: 4096,
  classifierDims: [512, 256],
  eps: 1e-5,
};

export const SAMPLE_RATE = 16000;

/** Sizes that follow from a config, computed once. */
export interface DerivedSizes {
  convChannels: number;
  headDim: number;
  ribHeadDim: number;
  groupWidth: number;
  /** Samples the conv stack needs for one output frame (400 for XLS-R). */
  receptiveField: number;
  /** Samples between frames (320 for XLS-R: 20 ms). */
  hop: number;
  /** Frames dropped after the positional conv: 1 for an even kernel (PyTorch pads K/2 both sides). */
  posConvTrim: number;
}

export function deriveSizes(c: RatConfig): DerivedSizes {
  let receptiveField = 1;
  let hop = 1;
  for (const [, k, s] of c.convLayers) {
    receptiveField += (k - 1) * hop;
    hop *= s;
  }
  return {
    convChannels: c.convLayers[c.convLayers.length - 1][0],
    headDim: c.embedDim / c.numHeads,
    ribHeadDim: c.embedDim / c.ribHeads,
    groupWidth: c.embedDim / c.posConvGroups,
    receptiveField,
    hop,
    posConvTrim: c.posConvKernel % 2 === 0 ? 1 : 0,
  };
}

/** Frames the conv stack yields for a clip of n samples (0 when the clip is too short). */
export function framesFor(c: RatConfig, n: number): number {
  for (const [, k, s] of c.convLayers) n = n < k ? 0 : Math.floor((n - k) / s) + 1;
  return n;
}

/**
 * Largest value of each size a config may declare: far above XLS-R 300M (24 layers, width 1024) and
 * its bigger siblings, small enough that nothing is allocated for a config that lies about them.
 */
export const CONFIG_LIMITS = {
  convLayers: 16,
  convChannels: 8192,
  convKernel: 1024,
  convStride: 64,
  embedDim: 8192,
  numLayers: 128,
  numHeads: 1024,
  ffnDim: 65536,
  posConvKernel: 1024,
  posConvGroups: 1024,
  ribHeads: 1024,
  ribMlpDim: 65536,
  classifierDim: 65536,
  /** Weight values in all: 4 GB of float32, what one WASM heap can address. */
  parameters: 1_000_000_000,
} as const;

/** Weight values a config implies (what weightSpecs lists), computed without listing them. */
export function parameterCount(c: RatConfig): number {
  const d = c.embedDim;
  let n = 0;
  let inCh = 1;
  for (const [ch, k] of c.convLayers) {
    n += k * inCh * ch + 3 * ch;
    inCh = ch;
  }
  n += 2 * inCh + inCh * d + d; // proj
  n += c.posConvKernel * d * (d / c.posConvGroups) + d; // pos
  n += c.numLayers * (4 * d + 4 * (d * d + d) + 2 * d * c.ffnDim + c.ffnDim + d);
  n += 4 * d + 4 * (d * d + d) + 2 * d * c.ribMlpDim + c.ribMlpDim + d; // rib
  const [c1, c2] = c.classifierDims;
  n += d * c1 + c1 + 4 * c1 + c1 * c2 + c2 + 4 * c2 + c2 * 2 + 2;
  return n;
}

/** Every reason a config cannot describe a working model; empty when it is valid. */
export function configProblems(c: RatConfig): string[] {
  const p: string[] = [];
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const L = CONFIG_LIMITS;
  if (!Array.isArray(c.convLayers) || c.convLayers.length === 0)
    p.push('convLayers must list at least one [channels, kernel, stride]');
  else if (c.convLayers.length > L.convLayers)
    p.push(`convLayers lists ${c.convLayers.length} layers; at most ${L.convLayers} are accepted`);
  else
    c.convLayers.forEach((l, i) => {
      if (!Array.isArray(l) || l.length !== 3 || !l.every(posInt))
        p.push(`convLayers[${i}] must be [channels, kernel, stride] of positive integers`);
      else if (l[0] > L.convChannels || l[1] > L.convKernel || l[2] > L.convStride) {
        p.push(`convLayers[${i}] is [${l}]; at most [${L.convChannels}, ${L.convKernel}, ${L.convStride}] is accepted`);
      }
    });
  for (const k of [
    'embedDim',
    'numLayers',
    'numHeads',
    'ffnDim',
    'posConvKernel',
    'posConvGroups',
    'ribHeads',
    'ribMlpDim',
  ] as const) {
    if (!posInt(c[k])) p.push(`${k} must be a positive integer (got ${JSON.stringify(c[k])})`);
    else if ((c[k] as number) > L[k]) p.push(`${k} is ${c[k]}; at most ${L[k]} is accepted`);
  }
  if (!Array.isArray(c.classifierDims) || c.classifierDims.length !== 2 || !c.classifierDims.every(posInt))
    p.push('classifierDims must be two positive integers');
  else if (c.classifierDims.some((v) => v > L.classifierDim))
    p.push(`classifierDims are [${c.classifierDims}]; at most ${L.classifierDim} each is accepted`);
  if (!(c.eps > 0 && c.eps < 1)) p.push(`eps must be in (0, 1) (got ${c.eps})`);
  if (p.length) return p;
  if (c.embedDim % c.numHeads) p.push(`encoder heads (${c.numHeads}) must divide the width ${c.embedDim}`);
  if (c.embedDim % c.ribHeads) p.push(`reference-block heads (${c.ribHeads}) must divide the width ${c.embedDim}`);
  if (c.embedDim % c.posConvGroups)
    p.push(`positional conv groups (${c.posConvGroups}) must divide the width ${c.embedDim}`);
  if (p.length) return p;
  const n = parameterCount(c);
  if (n > L.parameters)
    p.push(
      `the sizes imply ${n.toExponential(2)} weight values; at most ${L.parameters.toExponential(0)} (4 GB of float32) are accepted`,
    );
  return p;
}
