import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WeightEntry, WeightGroup } from '../../src/model/manifest';
import { shardTensors } from '../../src/model/shard-tensors';

// A shard's tensors made from its bytes, with the encoder's q/k/v projections split per head as
// they are made, must hold exactly what tfjs's own decoder and tf.split give.

const entries: WeightEntry[] = [
  { name: 'layers.0.attn.q.w', shape: [6, 8], dtype: 'float32' },
  { name: 'layers.0.attn.q.b', shape: [8], dtype: 'float32' },
  { name: 'layers.1.attn.v.w', shape: [6, 8], dtype: 'float32' },
  { name: 'layers.1.attn.o.w', shape: [8, 6], dtype: 'float32' }, // not a per-head projection
  { name: 'layers.2.attn.k.w', shape: [6, 8], dtype: 'float32' }, // beyond numLayers: whole
  { name: 'layers.0.attn.k.b', shape: [6], dtype: 'float32' }, // 6 columns do not split into 4 heads
  { name: 'pos.w', shape: [2, 3, 2, 2], dtype: 'float32' },
];
const size = (e: WeightEntry) => e.shape.reduce((a, b) => a * b, 1);
const total = entries.reduce((n, e) => n + size(e), 0);
/** Values that float16 holds exactly (multiples of 1/8 below 64). */
const values = Float32Array.from({ length: total }, (_, i) => ((i * 37) % 400) / 8 - 25);

/** float32 -> float16 bits, for values float16 holds exactly. */
function half(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | m;
}

const group = (weights: WeightEntry[]): WeightGroup => ({ paths: ['s.bin'], sha256: [''], weights });
const split = { numLayers: 2, heads: 4 };

describe('shardTensors', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const storage of ['float32', 'float16'] as const) {
    it(`${storage}: every weight as tfjs decodes it, q/k/v of the config's layers split per head as tf.split does`, async () => {
      const f16 = storage === 'float16';
      const specs = entries.map((e) => (f16 ? { ...e, quantization: { dtype: 'float16' as const } } : e));
      const bytes = f16 ? Uint16Array.from(values, half).buffer : values.slice().buffer;
      const expected = tf.io.decodeWeights(bytes.slice(0), specs);
      const before = tf.memory().numTensors;
      const got = shardTensors(bytes, group(specs), split);
      expect(Object.keys(got).sort()).toEqual(
        [
          ...['q.h0.w', 'q.h1.w', 'q.h2.w', 'q.h3.w', 'q.h0.b', 'q.h1.b', 'q.h2.b', 'q.h3.b', 'k.b'].map(
            (k) => `layers.0.attn.${k}`,
          ),
          ...['v.h0.w', 'v.h1.w', 'v.h2.w', 'v.h3.w', 'o.w'].map((k) => `layers.1.attn.${k}`),
          'layers.2.attn.k.w',
          'pos.w',
        ].sort(),
      );
      expect(tf.memory().numTensors - before).toBe(Object.keys(got).length);
      for (const name of ['layers.0.attn.q.w', 'layers.0.attn.q.b', 'layers.1.attn.v.w']) {
        const whole = expected[name];
        const parts = tf.split(whole, 4, whole.rank - 1);
        const kind = name.slice(-1);
        parts.forEach((p, h) => {
          const t = got[`${name.slice(0, -2)}.h${h}.${kind}`];
          expect(t.shape).toEqual(p.shape);
          expect(Array.from(t.dataSync())).toEqual(Array.from(p.dataSync()));
        });
        tf.dispose(parts);
      }
      for (const name of ['layers.1.attn.o.w', 'layers.2.attn.k.w', 'layers.0.attn.k.b', 'pos.w']) {
        expect(got[name].shape).toEqual(expected[name].shape);
        expect(Array.from(got[name].dataSync())).toEqual(Array.from(expected[name].dataSync()));
      }
      tf.dispose([...Object.values(got), ...Object.values(expected)]);
    });
  }

  it('on wasm, which copies values as a tensor is made, every head split through one scratch array holds its own values', async () => {
    await tf.setBackend('wasm');
    try {
      const bytes = values.slice().buffer;
      const expected = tf.io.decodeWeights(bytes.slice(0), entries);
      const got = shardTensors(bytes, group(entries), { ...split, reuseScratch: true });
      for (const name of ['layers.0.attn.q.w', 'layers.1.attn.v.w']) {
        const parts = tf.split(expected[name], 4, 1);
        parts.forEach((p, h) =>
          expect(Array.from(got[`${name.slice(0, -2)}.h${h}.w`].dataSync())).toEqual(Array.from(p.dataSync())),
        );
        tf.dispose(parts);
      }
      tf.dispose([...Object.values(got), ...Object.values(expected)]);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('without a split, each weight whole; a shard shorter than its entries throws and leaves no tensor', () => {
    const bytes = values.slice().buffer;
    const got = shardTensors(bytes, group(entries));
    expect(Object.keys(got)).toEqual(entries.map((e) => e.name));
    tf.dispose(Object.values(got));
    const before = tf.memory().numTensors;
    expect(() => shardTensors(bytes.slice(0, bytes.byteLength - 8), group(entries), split)).toThrow(RangeError);
    expect(tf.memory().numTensors).toBe(before);
  });
});
