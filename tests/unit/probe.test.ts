import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { pickByProbe, probeBackend } from '../../src/web/probe';

// The engine probe: its decision and wording from timings, and the probe itself on a backend.

describe('engine probe', () => {
  it('picks the faster engine and says by how much', () => {
    expect(pickByProbe({ webgpu: 20, wasm: 240 })).toEqual({
      name: 'webgpu',
      reason: 'WebGPU, 12x faster than WASM here (a timed probe at start: 20 ms against 240 ms)',
    });
    expect(pickByProbe({ webgpu: 300, wasm: 200 })).toEqual({
      name: 'wasm',
      reason: 'WASM, 1.5x faster than WebGPU here (a timed probe at start: 200 ms against 300 ms)',
    });
    // a tie goes to the GPU, which leaves the CPU to the page
    expect(pickByProbe({ webgpu: 100, wasm: 102 }).name).toBe('webgpu');
    expect(pickByProbe({ webgpu: 100, wasm: 102 }).reason).toMatch(/^WebGPU, as fast as WASM here/);
    expect(pickByProbe({ webgpu: 0, wasm: 5 }).reason).toMatch(/^WebGPU, \d+x faster/);
  });

  it('times a pass on the current backend and leaves no tensor behind', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const ms = await probeBackend();
    expect(ms).toBeGreaterThan(0);
    expect(Number.isFinite(ms)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
