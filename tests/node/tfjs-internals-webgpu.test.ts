import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { loadModelFromDir, useBackend } from '../../src/cli/node-weights';
import type { RatModel } from '../../src/model/load';
import { OutOfMemoryError, checkPassFits } from '../../src/model/out-of-memory';
import type { RatScore as Score } from '../../src/model/rat';
import { forcePlainPaths, webgpuDevice, withMatMulActivation } from '../../src/model/tfjs-internals';
import { FIXTURES, readArrays, tempDir } from '../helpers';

// The WebGPU reach-ins of src/model/tfjs-internals.ts on Dawn in Node (SwiftShader here): each
// plain path, forced as under another tfjs release, against the fast one. The version check and
// the WASM reach-ins are in tests/unit/tfjs-internals.test.ts. Most of the time here is SwiftShader
// compiling every kernel of both passes.

let wave: Float32Array;
let dir: string;

beforeAll(async () => {
  wave = (await readArrays(path.join(FIXTURES, 'clips.safetensors'))).get('short_noise')!.data;
  dir = path.join(tempDir('internals-webgpu'), 'tiny');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: dir });
  await useBackend('webgpu');
});
afterEach(() => forcePlainPaths(false));

describe('plain paths on Node WebGPU', () => {
  let fast: RatModel;
  let plain: RatModel;
  afterAll(() => {
    fast?.dispose();
    plain?.dispose();
  });

  it("the device is tfjs's GPUDevice; the plain path has none and refuses no pass for its buffer size in advance", () => {
    const device = webgpuDevice();
    expect(device).not.toBeNull();
    const maxBuffer = device!.limits.maxStorageBufferBindingSize;
    expect(maxBuffer).toBeGreaterThan(0);
    // frames whose attention matrix overflows one buffer, when the engine's working set does not run out first
    const frames = Math.ceil(Math.sqrt(maxBuffer / 4)) + 1;
    const fits = 8 * frames * frames + 24 * frames * 64 < 0.75 * (2 ** 32 - tf.memory().numBytes);
    if (fits) expect(() => checkPassFits(frames, 64, 1)).toThrow(OutOfMemoryError);
    forcePlainPaths(true);
    expect(webgpuDevice()).toBeNull();
    if (fits) expect(() => checkPassFits(frames, 64, 1)).not.toThrow();
  });

  it('the plain path patches no matmul: withMatMulActivation declines, having dispatched nothing', () => {
    forcePlainPaths(true);
    const x = tf.ones([2, 4]);
    const w = tf.ones([4, 3]);
    let called = false;
    const y = withMatMulActivation(
      'x',
      () => '',
      () => {
        called = true;
        return tf.fused.matMul({ a: x, b: w, activation: 'relu' });
      },
    );
    expect(y).toBeNull();
    expect(called).toBe(false);
    tf.dispose([x, w]);
  });

  it('the plain path runs the generic pass (no custom kernels) and scores as the GPU pass, leaking nothing', async () => {
    fast = await loadModelFromDir(dir, 'webgpu', { warmup: false });
    expect(fast.pass).toBe('gpu');
    forcePlainPaths(true);
    plain = await loadModelFromDir(dir, 'webgpu', { warmup: false });
    expect(plain.pass).toBe('generic');
    const loaded = tf.memory().numTensors;
    const p: Score = await plain.score(wave, { embedding: true });
    forcePlainPaths(false);
    const f: Score = await fast.score(wave, { embedding: true });
    // two passes (custom kernels against op by op) that agree to a few float32 roundings
    expect(Math.abs(p.pBonafide - f.pBonafide)).toBeLessThan(1e-6);
    p.logits.forEach((l, i) => expect(Math.abs(l - f.logits[i])).toBeLessThan(1e-5));
    p.embedding!.forEach((e, i) => expect(Math.abs(e - f.embedding![i])).toBeLessThan(1e-5));
    expect(tf.memory().numTensors).toBe(loaded);
  }, 600_000);
});
