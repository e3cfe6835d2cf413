import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/node-weights';
import { XLSR_300M_RAT, type RatConfig } from '../../src/model/config';
import { type RatModel, loadFromShards } from '../../src/model/load';
import type { RatManifest } from '../../src/model/manifest';
import { countDispatches } from '../../src/model/webgpu/dispatch-count';
import { weightSpecs } from '../../src/model/weights';

// The GPU pass on Dawn in Node (SwiftShader here): its dispatch budget on a model as deep as
// XLS-R 300M, and agreement with the generic pass. Parity with PyTorch is in parity.test.ts.

/** XLS-R 300M's depth, heads and conv stack with narrow widths and a shorter positional kernel: the full model's dispatches at a fraction of its arithmetic. */
const DEEP_NARROW: RatConfig = {
  ...XLSR_300M_RAT,
  convLayers: XLSR_300M_RAT.convLayers.map(([, k, s]) => [16, k, s]),
  embedDim: 64,
  ffnDim: 128,
  ribMlpDim: 128,
  posConvKernel: 32,
  classifierDims: [32, 16],
};

/** A seeded random model of `config` (untrained: for counting and comparing, not for scores that mean anything). */
async function randomModel(config: RatConfig, gpuKernels: boolean): Promise<RatModel> {
  let seed = 20261128;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  const specs = weightSpecs(config);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const values = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let o = 0;
  specs.forEach((s, i) => {
    const fanIn = s.shape.length > 1 ? s.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 0;
    const gain = /\.(g|variance)$/.test(s.name) ? null : fanIn ? 2 / Math.sqrt(fanIn) : 0.1;
    for (let j = 0; j < sizes[i]; j++) values[o++] = gain === null ? 1 + 0.1 * rand() : gain * rand();
  });
  const group = {
    paths: ['w.bin'] as [string],
    sha256: [''] as [string],
    weights: specs.map((s) => ({ ...s, dtype: 'float32' as const })),
  };
  const manifest: RatManifest = {
    format: 'rat-tfjs-weights',
    formatVersion: 1,
    label: 'random (test)',
    demo: true,
    config,
    dtype: 'float32',
    source: null,
    converter: { version: 'test' },
    weightsManifest: [group],
  };
  async function* shards() {
    yield { group, bytes: values.buffer, trusted: true };
  }
  return loadFromShards(manifest, values.byteLength, shards(), { gpuKernels, warmup: false });
}

function chirp(seconds: number, f0: number): Float32Array {
  const n = Math.round(16000 * seconds);
  return Float32Array.from(
    { length: n },
    (_, i) => Math.sin(2 * Math.PI * f0 * (i / 16000) * (1 + i / n)) * 0.3 + 0.01 * Math.sin(i),
  );
}

describe('the GPU pass on Node WebGPU', () => {
  let gpu: RatModel;
  let generic: RatModel;
  const test = chirp(1, 220);
  const ref = chirp(0.6, 330);

  beforeAll(async () => {
    await useBackend('webgpu');
    gpu = await randomModel(DEEP_NARROW, true);
    generic = await randomModel(DEEP_NARROW, false);
  });
  afterAll(() => {
    gpu?.dispose();
    generic?.dispose();
  });

  it('runs the GPU pass on webgpu and the generic pass when asked', () => {
    expect(gpu.pass).toBe('gpu');
    expect(generic.pass).toBe('generic');
  });

  it('scores within the dispatch budget (400 per score) at XLS-R depth, with either reference', async () => {
    const zero = await countDispatches(() => gpu.score(test));
    const r = await gpu.prepareReference(ref);
    const audio = await countDispatches(() => gpu.score(test, { reference: r }));
    const before = await countDispatches(() => generic.score(test));
    r.dispose();
    console.log(
      `dispatches per score at depth ${DEEP_NARROW.numLayers}: zero ${zero.dispatches.total}, audio ${audio.dispatches.total}; generic pass ${before.dispatches.total}`,
    );
    expect(zero.dispatches.total).toBeLessThanOrEqual(330);
    expect(audio.dispatches.total).toBeLessThanOrEqual(400);
    expect(before.dispatches.total).toBeGreaterThan(2000); // what the budget is measured against
  });

  it("gives the generic pass's scores, logits, embedding and diagnostics with both references", async () => {
    const rg = await gpu.prepareReference(ref);
    const rn = await generic.prepareReference(ref);
    for (const [a, b] of [
      [null, null],
      [rg, rn],
    ] as const) {
      const opts = { diagnostics: true, embedding: true, probeLayers: [0, 23] };
      const s = await gpu.score(test, { ...opts, reference: a });
      const t = await generic.score(test, { ...opts, reference: b });
      expect(s.refMode).toBe(t.refMode);
      expect(Math.abs(s.pBonafide - t.pBonafide)).toBeLessThan(1e-5);
      s.logits.forEach((l, i) =>
        expect(Math.abs(l - t.logits[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(t.logits[i]))),
      );
      const rel = (x: ArrayLike<number>, y: ArrayLike<number>) => {
        let e = 0;
        let m = 0;
        for (let i = 0; i < y.length; i++) {
          e = Math.max(e, Math.abs(x[i] - y[i]));
          m = Math.max(m, Math.abs(y[i]));
        }
        return e / m;
      };
      expect(rel(s.embedding!, t.embedding!)).toBeLessThan(1e-4);
      expect(rel(s.probes![23], t.probes![23])).toBeLessThan(1e-4);
      expect(rel(s.diagnostics!.attnRms, t.diagnostics!.attnRms)).toBeLessThan(1e-4);
      expect(rel(s.diagnostics!.mlpRms, t.diagnostics!.mlpRms)).toBeLessThan(1e-4);
    }
    rg.dispose();
    rn.dispose();
  });

  it('leaves no tensor behind after a score, a prepared reference and a cancelled score', async () => {
    await gpu.score(test);
    const before = tf.memory().numTensors;
    const r = await gpu.prepareReference(ref);
    await gpu.score(test, { reference: r });
    r.dispose();
    const ac = new AbortController();
    const cancelled = gpu.score(test, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.layer === 3) ac.abort();
      },
    });
    await expect(cancelled).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a reference prepared by the other pass', async () => {
    const rn = await generic.prepareReference(ref);
    await expect(gpu.score(test, { reference: rn })).rejects.toThrow(/prepared by another backend/);
    rn.dispose();
  });
});
