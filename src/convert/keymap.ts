import { type RatConfig, XLSR_300M_RAT, configProblems } from '../model/config';

// The one place that knows PyTorch's names: how each of the model's weights is made from the
// published checkpoint's tensors, and which transpose or fold that takes.

const W2V = 'extractor.model.model';
const FE = `${W2V}.feature_extractor.conv_layers`;
const PROJ = `${W2V}.encoder.feature_projection`;
const TR = `${W2V}.encoder.transformer`;
const POS = `${TR}.pos_conv_embed.conv`;

/** The two spellings of the positional conv's weight norm: torch.nn.utils.weight_norm, and parametrizations (torch >= 2.1). */
const WEIGHT_NORM_SPELLINGS = [
  { g: `${POS}.weight_g`, v: `${POS}.weight_v` },
  { g: `${POS}.parametrizations.weight.original0`, v: `${POS}.parametrizations.weight.original1` },
];

/**
 * Keys the checkpoint holds that the model does not use: BatchNorm's counters, and the transformer's
 * final LayerNorm, which torchaudio applies only after the last layer of Wav2Vec2Model.forward, never
 * to the per-layer features that RAT reads (see frontend() in src/model/rat.ts).
 */
const IGNORED = [
  /^classifier\.[14]\.num_batches_tracked$/,
  /^extractor\.model\.model\.encoder\.transformer\.layer_norm\.(weight|bias)$/,
];

export interface Source {
  data: Float32Array;
  shape: number[];
}

/** How one model weight is built: from which checkpoint keys (with their expected shapes) and by which transform. */
export interface KeyRule {
  ours: string;
  from: { key: string; shape: number[] }[];
  transform: string;
  build(src: Source[]): Float32Array;
}

// --- transforms ---------------------------------------------------------------------------------------

/** Linear weight [out, in] -> [in, out], the layout matMul(x, w) wants. */
function transposeLinear(w: Float32Array, out: number, inp: number, rowOffset = 0): Float32Array {
  const r = new Float32Array(inp * out);
  for (let o = 0; o < out; o++) {
    const row = (rowOffset + o) * inp;
    for (let i = 0; i < inp; i++) r[i * out + o] = w[row + i];
  }
  return r;
}

/** Conv1d weight [out, in, k] -> [k, in, out] (tfjs conv1d filter, NWC). */
function conv1dToNwc(w: Float32Array, out: number, inp: number, k: number): Float32Array {
  const r = new Float32Array(k * inp * out);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inp; i++) for (let j = 0; j < k; j++) r[(j * inp + i) * out + o] = w[(o * inp + i) * k + j];
  return r;
}

/**
 * Weight norm with dim=2 folded (w = g * v / ||v||, the norm over dims 0 and 1 for each kernel
 * position), then regrouped from [D, Dg, K] to one [K, Dg_in, Dg_out] filter per group: [G, K, Dg, Dg].
 */
function foldPositionalConv(g: Float32Array, v: Float32Array, d: number, dg: number, k: number): Float32Array {
  const norm = new Float64Array(k);
  for (let o = 0; o < d; o++)
    for (let i = 0; i < dg; i++) for (let j = 0; j < k; j++) norm[j] += v[(o * dg + i) * k + j] ** 2;
  const scale = Array.from(norm, (n, j) => g[j] / Math.sqrt(n));
  const groups = d / dg;
  const r = new Float32Array(groups * k * dg * dg);
  for (let o = 0; o < d; o++) {
    const grp = Math.floor(o / dg);
    const oo = o % dg;
    for (let i = 0; i < dg; i++)
      for (let j = 0; j < k; j++) {
        r[((grp * k + j) * dg + i) * dg + oo] = v[(o * dg + i) * k + j] * scale[j];
      }
  }
  return r;
}

// --- the map ---------------------------------------------------------------------------------------

/** Every model weight's recipe for a config. `weightNorm` picks the spelling the checkpoint uses. */
export function keyMap(c: RatConfig, weightNorm: 0 | 1 = 0): KeyRule[] {
  const d = c.embedDim;
  const rules: KeyRule[] = [];
  const copy = (ours: string, key: string, n: number) =>
    rules.push({ ours, from: [{ key, shape: [n] }], transform: 'copy', build: ([s]) => s.data });
  const linear = (ours: string, key: string, out: number, inp: number) => {
    rules.push({
      ours: `${ours}.w`,
      from: [{ key: `${key}.weight`, shape: [out, inp] }],
      transform: 'transpose [out, in] -> [in, out]',
      build: ([s]) => transposeLinear(s.data, out, inp),
    });
    copy(`${ours}.b`, `${key}.bias`, out);
  };
  const norm = (ours: string, key: string, n: number) => {
    copy(`${ours}.g`, `${key}.weight`, n);
    copy(`${ours}.b`, `${key}.bias`, n);
  };
  const selfAttention = (ours: string, key: string) => {
    for (const p of ['q', 'k', 'v']) linear(`${ours}.${p}`, `${key}.${p}_proj`, d, d);
    linear(`${ours}.o`, `${key}.out_proj`, d, d);
  };

  let inCh = 1;
  c.convLayers.forEach(([ch, k], i) => {
    const cin = inCh;
    rules.push({
      ours: `conv.${i}.w`,
      from: [{ key: `${FE}.${i}.conv.weight`, shape: [ch, cin, k] }],
      transform: 'transpose [out, in, k] -> [k, in, out]',
      build: ([s]) => conv1dToNwc(s.data, ch, cin, k),
    });
    copy(`conv.${i}.b`, `${FE}.${i}.conv.bias`, ch);
    norm(`conv.${i}.ln`, `${FE}.${i}.layer_norm`, ch);
    inCh = ch;
  });
  norm('proj.ln', `${PROJ}.layer_norm`, inCh);
  linear('proj.fc', `${PROJ}.projection`, d, inCh);

  const dg = d / c.posConvGroups;
  const k = c.posConvKernel;
  const wn = WEIGHT_NORM_SPELLINGS[weightNorm];
  rules.push({
    ours: 'pos.w',
    from: [
      { key: wn.g, shape: [1, 1, k] },
      { key: wn.v, shape: [d, dg, k] },
    ],
    transform: 'fold weight norm (dim 2), regroup [D, Dg, K] -> [G, K, Dg, Dg]',
    build: ([g, v]) => foldPositionalConv(g.data, v.data, d, dg, k),
  });
  copy('pos.b', `${POS}.bias`, d);

  for (let l = 0; l < c.numLayers; l++) {
    const L = `${TR}.layers.${l}`;
    norm(`layers.${l}.ln1`, `${L}.layer_norm`, d);
    selfAttention(`layers.${l}.attn`, `${L}.attention`);
    norm(`layers.${l}.ln2`, `${L}.final_layer_norm`, d);
    linear(`layers.${l}.up`, `${L}.feed_forward.intermediate_dense`, c.ffnDim, d);
    linear(`layers.${l}.down`, `${L}.feed_forward.output_dense`, d, c.ffnDim);
  }

  norm('rib.lnPre', 'preattn_ln', d);
  ['q', 'k', 'v'].forEach((p, i) => {
    // nn.MultiheadAttention stacks q, k, v projections in one [3D, D] matrix
    rules.push({
      ours: `rib.attn.${p}.w`,
      from: [{ key: 'attn.in_proj_weight', shape: [3 * d, d] }],
      transform: `rows ${i}D..${i + 1}D, transpose`,
      build: ([s]) => transposeLinear(s.data, d, d, i * d),
    });
    rules.push({
      ours: `rib.attn.${p}.b`,
      from: [{ key: 'attn.in_proj_bias', shape: [3 * d] }],
      transform: `elements ${i}D..${i + 1}D`,
      build: ([s]) => s.data.slice(i * d, (i + 1) * d),
    });
  });
  linear('rib.attn.o', 'attn.out_proj', d, d);
  linear('rib.up', 'attn_mlp.0', c.ribMlpDim, d);
  linear('rib.down', 'attn_mlp.2', d, c.ribMlpDim);
  norm('rib.lnPost', 'final_ln', d);

  const [c1, c2] = c.classifierDims;
  const bn = (ours: string, key: string, n: number) => {
    copy(`${ours}.g`, `${key}.weight`, n);
    copy(`${ours}.b`, `${key}.bias`, n);
    copy(`${ours}.mean`, `${key}.running_mean`, n);
    copy(`${ours}.variance`, `${key}.running_var`, n);
  };
  linear('cls.fc1', 'classifier.0', c1, d);
  bn('cls.bn1', 'classifier.1', c1);
  linear('cls.fc2', 'classifier.3', c2, c1);
  bn('cls.bn2', 'classifier.4', c2);
  linear('cls.fc3', 'classifier.6', 2, c2);
  return rules;
}

// --- reading a checkpoint's layout ---------------------------------------------------------------

/** What --config may set: the sizes that shapes cannot reveal. */
export interface ConfigOverrides {
  extractor_conv_layer_config?: [number, number, number][];
  encoder_num_heads?: number;
  rib_num_heads?: number;
}

export class LayoutError extends Error {
  constructor(
    message: string,
    /** The sizes the converter's --config sets are missing or wrong: the user can fix this one. */
    readonly needsConfig = false,
  ) {
    super(message);
    this.name = 'LayoutError';
  }
}

/** Drops DistributedDataParallel's "module." prefix when every key carries it. */
export function stripModulePrefix<T>(tensors: Map<string, T>): Map<string, T> {
  const keys = [...tensors.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith('module.'))) return tensors;
  return new Map([...tensors].map(([k, v]) => [k.slice('module.'.length), v]));
}

/** Which weight-norm spelling the checkpoint uses, or an error if neither. */
export function weightNormSpelling(shapes: Map<string, number[]>): 0 | 1 {
  const found = WEIGHT_NORM_SPELLINGS.findIndex((s) => shapes.has(s.g) && shapes.has(s.v));
  if (found < 0)
    throw new LayoutError(
      `The checkpoint has no positional convolution weights (neither ${WEIGHT_NORM_SPELLINGS.map((s) => s.v).join(' nor ')}): it is not a RAT / XLS-R checkpoint.`,
    );
  return found as 0 | 1;
}

/** Reads the config from tensor shapes, with overrides for strides and head counts. */
export function inferConfig(shapes: Map<string, number[]>, overrides: ConfigOverrides = {}): RatConfig {
  const need = (key: string, dims: number): number[] => {
    const s = shapes.get(key);
    if (!s)
      throw new LayoutError(
        `The checkpoint has no ${key}: it is not a RAT checkpoint with the published layout (or it is incomplete).`,
      );
    if (s.length !== dims) throw new LayoutError(`${key} has shape [${s}], expected ${dims} dimensions.`);
    return s;
  };
  const convKernels: [number, number][] = [];
  for (let i = 0; shapes.has(`${FE}.${i}.conv.weight`); i++) {
    const [ch, , k] = need(`${FE}.${i}.conv.weight`, 3);
    convKernels.push([ch, k]);
  }
  if (convKernels.length === 0) need(`${FE}.0.conv.weight`, 3);
  let convLayers: [number, number, number][];
  const given = overrides.extractor_conv_layer_config;
  if (given) {
    if (!Array.isArray(given) || given.length !== convKernels.length) {
      throw new LayoutError(
        `--config extractor_conv_layer_config lists ${Array.isArray(given) ? given.length : 'no'} layers; the checkpoint has ${convKernels.length}.`,
        true,
      );
    }
    given.forEach((l, i) => {
      if (!Array.isArray(l) || l[0] !== convKernels[i][0] || l[1] !== convKernels[i][1]) {
        throw new LayoutError(
          `--config conv layer ${i} is [${l}], but the checkpoint's weights have ${convKernels[i][0]} channels and kernel ${convKernels[i][1]}.`,
          true,
        );
      }
    });
    convLayers = given.map((l) => [l[0], l[1], l[2]]);
  } else {
    const defaults = XLSR_300M_RAT.convLayers;
    const same = convKernels.length === defaults.length && convKernels.every(([, k], i) => k === defaults[i][1]);
    if (!same) {
      throw new LayoutError(
        `The conv extractor (${convKernels.length} layers, kernels ${convKernels.map((x) => x[1]).join(', ')}) differs from XLS-R's, so its strides cannot be assumed: ` +
          'pass them with --config \'{"extractor_conv_layer_config": [[channels, kernel, stride], ...]}\'.',
        true,
      );
    }
    convLayers = convKernels.map(([ch, k], i) => [ch, k, defaults[i][2]]);
  }

  const [embedDim] = need(`${PROJ}.projection.weight`, 2);
  let numLayers = 0;
  while (shapes.has(`${TR}.layers.${numLayers}.attention.q_proj.weight`)) numLayers++;
  if (numLayers === 0) need(`${TR}.layers.0.attention.q_proj.weight`, 2);
  const [ffnDim] = need(`${TR}.layers.0.feed_forward.intermediate_dense.weight`, 2);
  const wn = WEIGHT_NORM_SPELLINGS[weightNormSpelling(shapes)];
  const [posOut, groupWidth, posConvKernel] = need(wn.v, 3);
  if (posOut !== embedDim || embedDim % groupWidth)
    throw new LayoutError(`${wn.v} has shape [${need(wn.v, 3)}], which does not fit width ${embedDim}.`);
  const [ribMlpDim] = need('attn_mlp.0.weight', 2);
  const [c1] = need('classifier.0.weight', 2);
  const [c2] = need('classifier.3.weight', 2);
  const config: RatConfig = {
    convLayers,
    embedDim,
    numLayers,
    numHeads: overrides.encoder_num_heads ?? XLSR_300M_RAT.numHeads,
    ffnDim,
    posConvKernel,
    posConvGroups: embedDim / groupWidth,
    ribHeads: overrides.rib_num_heads ?? XLSR_300M_RAT.ribHeads,
    ribMlpDim,
    classifierDims: [c1, c2],
    eps: XLSR_300M_RAT.eps,
  };
  const problems = configProblems(config);
  if (problems.length)
    throw new LayoutError(
      `The checkpoint's sizes give an unusable config:\n  ${problems.join('\n  ')}\nSet the head counts with --config '{"encoder_num_heads": H, "rib_num_heads": R}'.`,
      true,
    );
  return config;
}

/** Checks every key and shape the rules need against the checkpoint; lists all that is missing, misshapen or unexpected. */
export function layoutProblems(rules: KeyRule[], shapes: Map<string, number[]>): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const r of rules) {
    for (const { key, shape } of r.from) {
      used.add(key);
      const got = shapes.get(key);
      if (!got) problems.push(`missing ${key}`);
      else if (got.join(',') !== shape.join(',')) problems.push(`${key} has shape [${got}], expected [${shape}]`);
    }
  }
  for (const key of shapes.keys()) {
    if (!used.has(key) && !IGNORED.some((re) => re.test(key))) problems.push(`unexpected ${key}`);
  }
  return [...new Set(problems)];
}
