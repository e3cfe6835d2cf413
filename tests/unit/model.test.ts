import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { loadModelFromDir, useBackend, weightsFromDir } from '../../src/cli/node-weights';
import { type RatModel, type ShardBytes, loadFromShards } from '../../src/model/load';
import { groupBytes } from '../../src/model/manifest';
import { ClipTooShortError } from '../../src/model/rat';
import { KEEP_VALUES } from '../../src/model/wasm-packing';
import { FIXTURES, readArrays, readGolden, tempDir } from '../helpers';

type Arrays = Awaited<ReturnType<typeof readArrays>>;
let clips: Arrays;
let dir: string;

beforeAll(async () => {
  clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
  dir = tempDir('model');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'f32') });
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'f16'), dtype: 'float16' });
});

describe('model behaviour on the wasm backend', () => {
  let model: RatModel;
  beforeAll(async () => {
    model = await loadModelFromDir(path.join(dir, 'f32'), 'wasm');
  });
  afterAll(() => model?.dispose());

  it('leaks no tensors over 100 scorings, with and without a reference', async () => {
    const wave = clips.get('speech_front_center')!.data;
    const ref = await model.prepareReference(clips.get('ref_espeak')!.data);
    await model.score(wave, { reference: ref, diagnostics: true, probeLayers: [0] });
    const before = tf.memory().numTensors;
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const s = await model.score(wave, {
        reference: i % 2 ? ref : null,
        diagnostics: i % 3 === 0,
        embedding: i % 5 === 0,
      });
      if (i % 2 === 0) last = s.pBonafide;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeCloseTo(
      readGolden('tiny').cases.find((c) => c.clip === 'speech_front_center' && c.ref_mode === 'zero')!.p_bonafide,
      4,
    );
    ref.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * model.config.ribHeads * model.config.numLayers); // per layer and head: keys and values
  });

  it('keeps one copy of the weights: every linear and conv weight but the two a reference folds into is handed back once packed', async () => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'f32', 'model.json'), 'utf8'));
    const weights: { name: string; shape: number[] }[] = manifest.weightsManifest.flatMap(
      (g: { weights: unknown[] }) => g.weights,
    );
    const kept = new Set([...KEEP_VALUES].map((n) => `${n}.w`));
    const expected = weights
      .filter((w) => w.name.endsWith('.w') && w.shape.length >= 2 && !kept.has(w.name))
      .reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    expect(expected).toBeGreaterThan(0);
    expect(model.releasedBytes).toBe(expected);
    const cpu = await loadModelFromDir(path.join(dir, 'f32'), 'cpu');
    expect(cpu.releasedBytes).toBe(0); // the cpu backend reads its weights directly
    cpu.dispose();
    await tf.setBackend('wasm');
  });

  it('refuses a clip shorter than the receptive field, and scores one exactly that long', async () => {
    await expect(model.score(new Float32Array(399))).rejects.toBeInstanceOf(ClipTooShortError);
    await expect(model.score(new Float32Array(0))).rejects.toThrow(/needs at least 400 samples/);
    const s = await model.score(clips.get('odd_chirp')!.data.slice(0, 400));
    expect(s.frames).toBe(1);
    expect(s.pBonafide).toBeGreaterThan(0);
    expect(s.pBonafide).toBeLessThan(1);
  });

  it('stops between layers when aborted, leaving no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const layers: number[] = [];
    const run = model.score(clips.get('espeak_6s')!.data, {
      signal: ac.signal,
      onProgress: (p) => {
        layers.push(p.layer);
        if (p.layer === 1) ac.abort();
      },
    });
    await expect(run).rejects.toThrow();
    expect(layers).toEqual([1]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports one progress event per layer', async () => {
    const seen: string[] = [];
    await model.score(clips.get('short_noise')!.data, {
      onProgress: (p) => seen.push(`${p.stage}${p.layer}/${p.layers}`),
    });
    expect(seen).toEqual(['test1/3', 'test2/3', 'test3/3']);
  });
});

describe('weights folders from strangers', () => {
  it.each([
    [
      'a flipped byte',
      (b: Buffer) => {
        b[1000] ^= 0xff;
        return b;
      },
      /shard-0001\.bin is corrupted: its SHA-256 is/,
    ],
    [
      'a truncated shard',
      (b: Buffer) => b.subarray(0, b.length - 4),
      /shard-0001\.bin has \d+ bytes, the manifest expects \d+: the file is truncated/,
    ],
  ])('refuses %s, naming the shard', async (_, damage, message) => {
    const bad = path.join(dir, `damaged-${Math.random().toString(36).slice(2)}`);
    cpSync(path.join(dir, 'f32'), bad, { recursive: true });
    const shard = path.join(bad, 'shard-0001.bin');
    writeFileSync(shard, damage(readFileSync(shard)));
    const before = tf.memory().numTensors;
    await expect(loadModelFromDir(bad, 'wasm')).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('float16 weights', () => {
  it('move P(bona fide) by less than 2e-3 from float32 on every fixture case (max printed)', async () => {
    const results: Record<string, number[]> = {};
    for (const dtype of ['f32', 'f16']) {
      const model = await loadModelFromDir(path.join(dir, dtype), 'wasm');
      const refs = new Map<string, Awaited<ReturnType<RatModel['prepareReference']>>>();
      results[dtype] = [];
      for (const c of readGolden('tiny').cases) {
        if (c.ref && !refs.has(c.ref)) refs.set(c.ref, await model.prepareReference(clips.get(c.ref)!.data));
        results[dtype].push(
          (await model.score(clips.get(c.clip)!.data, { reference: c.ref ? refs.get(c.ref) : null })).pBonafide,
        );
      }
      refs.forEach((r) => r.dispose());
      model.dispose();
    }
    const diffs = results.f32.map((p, i) => Math.abs(p - results.f16[i]));
    const max = Math.max(...diffs);
    console.log(
      `float16 vs float32, tiny fixture: max |dP| = ${max.toExponential(2)}, mean ${(diffs.reduce((a, b) => a + b) / diffs.length).toExponential(2)} over ${diffs.length} cases`,
    );
    expect(max).toBeLessThan(2e-3);
    expect(max).toBeGreaterThan(0); // float16 storage really changed the weights
  });
});

describe('shard buffers handed back to their source', () => {
  /** The f32 folder's shards; each recycled buffer is overwritten with NaN at once, as a reused one would be. */
  async function load(backend: 'wasm' | 'cpu') {
    await useBackend(backend);
    const source = await weightsFromDir(path.join(dir, 'f32'));
    const groups = source.manifest.weightsManifest;
    let recycled = 0;
    async function* shards(): AsyncGenerator<ShardBytes> {
      for (const group of groups) {
        const bytes = await source.readShard(group.paths[0], groupBytes(group));
        const recycle = () => {
          recycled++;
          new Float32Array(bytes, 0, bytes.byteLength >> 2).fill(Number.NaN);
        };
        yield { group, bytes, trusted: true, recycle };
      }
    }
    const total = groups.reduce((n, g) => n + groupBytes(g), 0);
    const model = await loadFromShards(source.manifest, total, shards());
    return { model, recycled, shards: groups.length };
  }
  const golden = () =>
    readGolden('tiny').cases.find((c) => c.clip === 'speech_front_center' && c.ref_mode === 'zero')!.p_bonafide;

  it('on wasm, which copies what it is given, each shard is handed back and the model scores as PyTorch', async () => {
    const { model, recycled, shards } = await load('wasm');
    expect(recycled).toBe(shards);
    expect((await model.score(clips.get('speech_front_center')!.data)).pBonafide).toBeCloseTo(golden(), 4);
    model.dispose();
  });

  it('on cpu, which keeps references to the values, no shard is handed back', async () => {
    const { model, recycled } = await load('cpu');
    expect(recycled).toBe(0);
    expect((await model.score(clips.get('speech_front_center')!.data)).pBonafide).toBeCloseTo(golden(), 4);
    model.dispose();
    await useBackend('wasm');
  });
});
