import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { loadModelFromDir, useBackend } from '../../src/cli/node-weights';
import { runLinear } from '../../src/model/layers';
import type { RatModel } from '../../src/model/load';
import { restartBackend } from '../../src/model/out-of-memory';
import type { RatScore as Score } from '../../src/model/rat';
import {
  TFJS_VERSION,
  forcePlainPaths,
  internalsMatch,
  wasmCanFreeValues,
  wasmFreeValues,
  wasmHoldsValues,
  webgpuDevice,
  withAllCoresForWasm,
  withMatMulActivation,
} from '../../src/model/tfjs-internals';
import { packAndRelease } from '../../src/model/wasm-packing';
import { FIXTURES, readArrays, tempDir } from '../helpers';

// src/model/tfjs-internals.ts holds every reach-in into tfjs's private state, each checked against
// one tfjs release. These tests fail when the pinned release moves, and show that each plain path
// (taken under another release, forced here) gives the fast path's numbers.

const ROOT = path.resolve(__dirname, '../..');
const PACKAGES = ['tfjs-core', 'tfjs-backend-wasm', 'tfjs-backend-webgpu', 'tfjs-backend-cpu'];
const RECHECK =
  `src/model/tfjs-internals.ts was written against tfjs ${TFJS_VERSION}: re-check every reach-in there ` +
  "against the new release (this file's tests and the parity suites), then set TFJS_VERSION to it";

type Arrays = Awaited<ReturnType<typeof readArrays>>;
let clips: Arrays;
let dir: string;

beforeAll(async () => {
  clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
  dir = path.join(tempDir('internals'), 'tiny');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: dir });
});
afterEach(() => {
  forcePlainPaths(false);
  vi.unstubAllGlobals();
});

/** Scores with no reference and with a prepared one: what a model's numbers are compared by. */
async function scores(model: RatModel): Promise<Score[]> {
  const ref = await model.prepareReference(clips.get('ref_espeak')!.data);
  const out: Score[] = [];
  for (const clip of ['speech_front_center', 'odd_chirp']) {
    const wave = clips.get(clip)!.data;
    out.push(await model.score(wave, { embedding: true }));
    out.push(await model.score(wave, { reference: ref, embedding: true }));
  }
  ref.dispose();
  return out;
}

function expectSameScores(a: Score[], b: Score[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((s, i) => {
    expect(Math.abs(s.pBonafide - b[i].pBonafide)).toBeLessThanOrEqual(tol);
    s.logits.forEach((l, j) => expect(Math.abs(l - b[i].logits[j])).toBeLessThanOrEqual(tol));
    s.embedding!.forEach((e, j) => expect(Math.abs(e - b[i].embedding![j])).toBeLessThanOrEqual(tol));
  });
}

describe('the tfjs release the reach-ins were written against', () => {
  const require = createRequire(import.meta.url);

  it.each(PACKAGES)('@tensorflow/%s is installed at that release', (name) => {
    const { version } = require(`@tensorflow/${name}/package.json`) as { version: string };
    expect(version, `@tensorflow/${name} ${version} is installed; ${RECHECK}`).toBe(TFJS_VERSION);
  });

  it('package.json pins every tfjs package to exactly that release', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const deps: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };
    const pinned = Object.entries(deps).filter(([n]) => n.startsWith('@tensorflow/'));
    expect(pinned.map(([n]) => n)).toEqual(expect.arrayContaining(PACKAGES.map((p) => `@tensorflow/${p}`)));
    for (const [name, range] of pinned)
      expect(range, `package.json pins ${name} at ${range}; ${RECHECK}`).toBe(TFJS_VERSION);
  });

  it('the running tfjs is that release, and forcing the plain paths reads as another', () => {
    expect(tf.version_core, RECHECK).toBe(TFJS_VERSION);
    expect(internalsMatch()).toBe(true);
    forcePlainPaths(true);
    expect(internalsMatch()).toBe(false);
  });
});

describe('plain paths on the wasm backend', () => {
  beforeAll(() => useBackend('wasm'));

  it('a packed and freed weight gives what the same weight kept in memory gives; the plain path frees nothing', () => {
    const values = Float32Array.from({ length: 24 * 16 }, (_, i) => Math.sin(i * 0.37));
    const bias = Float32Array.from({ length: 16 }, (_, i) => 0.1 * i - 0.5);
    const x = tf.tensor2d(
      Float32Array.from({ length: 3 * 24 }, (_, i) => Math.cos(i * 0.11)),
      [3, 24],
    );
    const before = tf.memory().numTensors;
    const run = (plain: boolean) => {
      forcePlainPaths(plain);
      const named: Record<string, Tensor> = { 'l.w': tf.tensor2d(values, [24, 16]), 'l.b': tf.tensor1d(bias) };
      expect(wasmCanFreeValues()).toBe(!plain);
      expect(wasmHoldsValues(named['l.w'])).toBe(!plain);
      const freed = packAndRelease(named, new Set());
      expect(freed).toBe(plain ? 0 : 4 * values.length);
      expect(wasmHoldsValues(named['l.w'])).toBe(false);
      expect(wasmFreeValues(named['l.w'])).toBe(0); // already gone, or never to be freed
      const y = runLinear({ w: named['l.w'] as Tensor2D, b: named['l.b'] as Tensor1D }, x);
      const out = y.dataSync().slice();
      tf.dispose([y, ...Object.values(named)]);
      return out;
    };
    const fast = run(false);
    const plain = run(true);
    expect(plain).toEqual(fast);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('a model loaded on the plain path keeps its weights and scores as the packed one, leaking nothing', async () => {
    const fast = await loadModelFromDir(dir, 'wasm');
    expect(fast.releasedBytes).toBeGreaterThan(0);
    forcePlainPaths(true);
    const plain = await loadModelFromDir(dir, 'wasm');
    expect(plain.releasedBytes).toBe(0);
    const loaded = tf.memory().numTensors;
    const plainScores = await scores(plain);
    forcePlainPaths(false);
    const fastScores = await scores(fast);
    expectSameScores(plainScores, fastScores, 1e-6);
    expect(tf.memory().numTensors).toBe(loaded);
    fast.dispose();
    plain.dispose();
  });

  it.each([false, true])(
    'restart (plain path %s): a backend whose memory traps when freed is dropped, and the reloaded model scores as before',
    async (plain) => {
      forcePlainPaths(plain);
      let model = await loadModelFromDir(dir, 'wasm');
      const before = await scores(model);
      // a trapped WASM module traps again when freed into: a backend that throws on dispose stands for it
      const trapped = tf.backend();
      trapped.dispose = () => {
        throw new Error('trapped');
      };
      trapped.disposeData = () => {
        throw new Error('trapped');
      };
      await restartBackend('wasm');
      expect(tf.getBackend()).toBe('wasm');
      expect(tf.backend()).not.toBe(trapped);
      expect(tf.memory().numTensors).toBe(0);
      model = await loadModelFromDir(dir, 'wasm');
      const loaded = tf.memory().numTensors;
      expectSameScores(await scores(model), before, 1e-6);
      expect(tf.memory().numTensors).toBe(loaded);
      model.dispose();
    },
  );

  it("thread count: navigator reports twice the cores while the wasm backend starts, then its own again; the plain path leaves tfjs's cap", async () => {
    const proto = {
      get hardwareConcurrency() {
        return 2;
      },
    };
    const nav = Object.create(proto) as Navigator;
    vi.stubGlobal('navigator', nav);
    vi.stubGlobal('crossOriginIsolated', true);
    const seen = () => Promise.resolve(navigator.hardwareConcurrency);
    expect(await withAllCoresForWasm(2, seen)).toBe(4);
    expect(navigator.hardwareConcurrency).toBe(2);
    expect(Object.getOwnPropertyNames(nav)).toEqual([]);
    // restored when the start fails too
    await expect(withAllCoresForWasm(2, () => Promise.reject(new Error('no start')))).rejects.toThrow('no start');
    expect(navigator.hardwareConcurrency).toBe(2);
    vi.stubGlobal('crossOriginIsolated', false); // no threads without isolation: nothing to change
    expect(await withAllCoresForWasm(2, seen)).toBe(2);
    vi.stubGlobal('crossOriginIsolated', true);
    forcePlainPaths(true);
    expect(await withAllCoresForWasm(2, seen)).toBe(2);
    expect(Object.getOwnPropertyNames(nav)).toEqual([]);
  });

  it('no WebGPU device or patched matmul off the webgpu backend (tests/node/tfjs-internals-webgpu.test.ts: on it)', () => {
    expect(webgpuDevice()).toBeNull();
    expect(
      withMatMulActivation(
        'x',
        () => '',
        () => 1,
      ),
    ).toBeNull();
  });
});
