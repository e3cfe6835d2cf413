import * as tf from '@tensorflow/tfjs-core';

// A short timed probe of one backend with the operations that dominate a RAT pass at a small clip's
// size: the feature encoder's strided convolution, a transformer layer's fused projection and its
// attention softmax. Run where both engines are real, it picks the faster one on this machine
// (a weak integrated GPU can lose to WASM on a strong CPU; a discrete one wins by far).

export type ProbeTimes = { webgpu: number; wasm: number };

/** Milliseconds of one probe pass on the current backend, after an untimed pass that compiles its kernels. */
export async function probeBackend(): Promise<number> {
  const run = () =>
    tf.tidy(() => {
      const wave = tf.randomNormal<tf.Rank.R3>([1, 16000, 1], 0, 0.1, 'float32', 1); // [B, samples, 1]: one second
      const kernel = tf.randomNormal<tf.Rank.R3>([10, 1, 256], 0, 0.1, 'float32', 2);
      const conv = tf.conv1d(wave, kernel, 5, 'valid'); // [1, 3199, 256]
      const frames = tf.reshape(tf.slice(conv, [0, 0, 0], [1, 200, 256]), [200, 256]); // [T, C]
      const x = tf.matMul(frames, tf.randomNormal([256, 768], 0, 0.05, 'float32', 3)); // [T, D]
      const ffn = tf.fused.matMul({
        a: x,
        b: tf.randomNormal([768, 3072], 0, 0.05, 'float32', 4),
        activation: 'relu',
      }); // [T, 4D]
      const heads = tf.transpose(tf.reshape(x, [200, 12, 64]), [1, 0, 2]); // [H, T, Dh]
      const att = tf.softmax(tf.matMul(heads, heads, false, true)); // [H, T, T]
      return tf.add(tf.sum(att), tf.sum(ffn));
    });
  const first = run();
  await first.data();
  first.dispose();
  const t0 = performance.now();
  const timed = run();
  await timed.data();
  timed.dispose();
  return performance.now() - t0;
}

/** The faster backend and the words the page shows for it, e.g. "WebGPU, 12x faster than WASM here". */
export function pickByProbe(t: ProbeTimes): { name: 'webgpu' | 'wasm'; reason: string } {
  const name = t.webgpu <= t.wasm ? 'webgpu' : 'wasm';
  const [win, lose] = name === 'webgpu' ? [t.webgpu, t.wasm] : [t.wasm, t.webgpu];
  const ratio = lose / Math.max(win, 1e-3);
  const [a, b] = name === 'webgpu' ? ['WebGPU', 'WASM'] : ['WASM', 'WebGPU'];
  const how =
    ratio >= 1.95
      ? `${ratio.toFixed(0)}x faster than ${b}`
      : ratio >= 1.05
        ? `${ratio.toFixed(1)}x faster than ${b}`
        : `as fast as ${b}`;
  return {
    name,
    reason: `${a}, ${how} here (a timed probe at start: ${win.toFixed(0)} ms against ${lose.toFixed(0)} ms)`,
  };
}
