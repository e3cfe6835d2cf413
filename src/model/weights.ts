import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { type RatConfig, deriveSizes } from './config';

// The model's own weight names and layouts: matrices are [in, out] (what matMul wants), conv filters
// [kernel, in, out] (tfjs NWC). The converter's key map is the only place that knows PyTorch's names.

export interface LinearW {
  w: Tensor2D;
  b: Tensor1D;
}
export interface NormW {
  g: Tensor1D;
  b: Tensor1D;
}
export interface BatchNormW {
  g: Tensor1D;
  b: Tensor1D;
  mean: Tensor1D;
  variance: Tensor1D;
}
export interface ConvW {
  w: Tensor3D;
  b: Tensor1D;
  ln: NormW;
}
export interface AttentionW {
  q: LinearW;
  k: LinearW;
  v: LinearW;
  o: LinearW;
}
/** Self-attention with its query, key and value projections split per head at load (src/model/head-split.ts). */
export interface HeadSplitAttentionW {
  heads: { q: LinearW[]; k: LinearW[]; v: LinearW[] };
  o: LinearW;
}
export interface EncoderLayerW {
  ln1: NormW;
  attn: AttentionW | HeadSplitAttentionW;
  ln2: NormW;
  up: LinearW;
  down: LinearW;
}

export interface RatWeights {
  conv: ConvW[];
  proj: { ln: NormW; fc: LinearW };
  /** Grouped positional conv: one [kernel, groupWidth, groupWidth] filter per group (stored as [G, K, Dg, Dg]). */
  pos: { filters: Tensor3D[]; b: Tensor1D };
  layers: EncoderLayerW[];
  rib: { lnPre: NormW; attn: AttentionW; up: LinearW; down: LinearW; lnPost: NormW };
  cls: { fc1: LinearW; bn1: BatchNormW; fc2: LinearW; bn2: BatchNormW; fc3: LinearW };
}

export interface WeightSpec {
  name: string;
  shape: number[];
}

/** Every weight a config needs, in the order the converter writes them and the loader expects them. */
export function weightSpecs(c: RatConfig): WeightSpec[] {
  const d = c.embedDim;
  const z = deriveSizes(c);
  const s: WeightSpec[] = [];
  const linear = (n: string, i: number, o: number) =>
    s.push({ name: `${n}.w`, shape: [i, o] }, { name: `${n}.b`, shape: [o] });
  const norm = (n: string, w: number) => s.push({ name: `${n}.g`, shape: [w] }, { name: `${n}.b`, shape: [w] });
  const attention = (n: string) => ['q', 'k', 'v', 'o'].forEach((p) => linear(`${n}.${p}`, d, d));
  const bn = (n: string, w: number) =>
    ['g', 'b', 'mean', 'variance'].forEach((p) => s.push({ name: `${n}.${p}`, shape: [w] }));
  let inCh = 1;
  c.convLayers.forEach(([ch, k], i) => {
    s.push({ name: `conv.${i}.w`, shape: [k, inCh, ch] }, { name: `conv.${i}.b`, shape: [ch] });
    norm(`conv.${i}.ln`, ch);
    inCh = ch;
  });
  norm('proj.ln', z.convChannels);
  linear('proj.fc', z.convChannels, d);
  s.push(
    { name: 'pos.w', shape: [c.posConvGroups, c.posConvKernel, z.groupWidth, z.groupWidth] },
    { name: 'pos.b', shape: [d] },
  );
  for (let l = 0; l < c.numLayers; l++) {
    norm(`layers.${l}.ln1`, d);
    attention(`layers.${l}.attn`);
    norm(`layers.${l}.ln2`, d);
    linear(`layers.${l}.up`, d, c.ffnDim);
    linear(`layers.${l}.down`, c.ffnDim, d);
  }
  norm('rib.lnPre', d);
  attention('rib.attn');
  linear('rib.up', d, c.ribMlpDim);
  linear('rib.down', c.ribMlpDim, d);
  norm('rib.lnPost', d);
  const [c1, c2] = c.classifierDims;
  linear('cls.fc1', d, c1);
  bn('cls.bn1', c1);
  linear('cls.fc2', c1, c2);
  bn('cls.bn2', c2);
  linear('cls.fc3', c2, 2);
  return s;
}

/**
 * Builds the typed record from flat named tensors, checking that each one is present with its shape.
 * Takes ownership of `named`: tensors re-laid out here (the positional filters) replace their source.
 */
export function assembleWeights(c: RatConfig, named: Record<string, Tensor>): RatWeights {
  const problems: string[] = [];
  const heads = c.numHeads;
  /** The shape a projection split per head adds up to, or undefined when it is not split. */
  const splitShape = (name: string): number[] | undefined => {
    const m = /^(.*)\.(w|b)$/.exec(name);
    const parts = m ? Array.from({ length: heads }, (_, h) => named[`${m[1]}.h${h}.${m[2]}`]) : [];
    if (!m || parts.some((p) => !p)) return undefined;
    const cols = parts.reduce((n, p) => n + p.shape[p.rank - 1], 0);
    return m[2] === 'w' ? [parts[0].shape[0], cols] : [cols];
  };
  for (const { name, shape } of weightSpecs(c)) {
    const found = named[name]?.shape ?? splitShape(name);
    if (!found) problems.push(`missing ${name}`);
    else if (found.join(',') !== shape.join(','))
      problems.push(`${name} has shape [${found}], the config needs [${shape}]`);
  }
  if (problems.length) throw new Error(`The weights do not fit their config:\n  ${problems.join('\n  ')}`);
  const t = <T extends Tensor>(n: string) => named[n] as T;
  const splitGroups = (w: Tensor): Tensor3D[] => {
    const [g, k, i, o] = w.shape;
    const size = k * i * o;
    // on wasm and cpu the values are at hand: made group by group from them, instead of tfjs-wasm's
    // split of the [G, K*Dg*Dg] filter, which took most of a full-size load's assembly
    const values = ['wasm', 'cpu'].includes(tf.getBackend()) ? (w.dataSync() as Float32Array) : null;
    const filters = (
      values
        ? Array.from({ length: g }, (_, j) => tf.tensor3d(values.subarray(j * size, (j + 1) * size), [k, i, o]))
        : tf.tidy(() => tf.split(tf.reshape(w, [g, size]), g, 0).map((f) => tf.reshape(f, [k, i, o])))
    ) as Tensor3D[]; // G x [K, Dg, Dg]
    w.dispose();
    return filters;
  };
  const linear = (n: string): LinearW => ({ w: t(`${n}.w`), b: t(`${n}.b`) });
  const norm = (n: string): NormW => ({ g: t(`${n}.g`), b: t(`${n}.b`) });
  const attention = (n: string): AttentionW => ({
    q: linear(`${n}.q`),
    k: linear(`${n}.k`),
    v: linear(`${n}.v`),
    o: linear(`${n}.o`),
  });
  const perHead = (n: string): LinearW[] => Array.from({ length: heads }, (_, h) => linear(`${n}.h${h}`));
  const selfAttention = (n: string): AttentionW | HeadSplitAttentionW =>
    named[`${n}.q.h0.w`]
      ? { heads: { q: perHead(`${n}.q`), k: perHead(`${n}.k`), v: perHead(`${n}.v`) }, o: linear(`${n}.o`) }
      : attention(n);
  const bn = (n: string): BatchNormW => ({
    g: t(`${n}.g`),
    b: t(`${n}.b`),
    mean: t(`${n}.mean`),
    variance: t(`${n}.variance`),
  });
  return {
    conv: c.convLayers.map((_, i) => ({ w: t(`conv.${i}.w`), b: t(`conv.${i}.b`), ln: norm(`conv.${i}.ln`) })),
    proj: { ln: norm('proj.ln'), fc: linear('proj.fc') },
    pos: { filters: splitGroups(t('pos.w')), b: t('pos.b') },
    layers: Array.from({ length: c.numLayers }, (_, l) => ({
      ln1: norm(`layers.${l}.ln1`),
      attn: selfAttention(`layers.${l}.attn`),
      ln2: norm(`layers.${l}.ln2`),
      up: linear(`layers.${l}.up`),
      down: linear(`layers.${l}.down`),
    })),
    rib: {
      lnPre: norm('rib.lnPre'),
      attn: attention('rib.attn'),
      up: linear('rib.up'),
      down: linear('rib.down'),
      lnPost: norm('rib.lnPost'),
    },
    cls: {
      fc1: linear('cls.fc1'),
      bn1: bn('cls.bn1'),
      fc2: linear('cls.fc2'),
      bn2: bn('cls.bn2'),
      fc3: linear('cls.fc3'),
    },
  };
}

/** Every tensor a weight record holds, for disposal. */
export function weightTensors(w: RatWeights): Tensor[] {
  const out: Tensor[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof tf.Tensor) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(w);
  return out;
}
