import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

// On tfjs-wasm, splitting a [T, D] projection into heads along its columns (SplitV) is a slow
// strided copy: one projection plus its split took 3.5x the time of the projection alone. Split
// instead the weights, once at load: each head gets its own [D, Dh] projection, which XNNPACK runs as
// fast as the whole (measured: 16 x [200,1024]x[1024,64] in the time of one [200,1024]x[1024,1024]),
// and nothing is split per clip. The products are the same numbers (bit-identical in that test).

/**
 * Replaces each encoder layer's `layers.<l>.attn.{q,k,v}.{w,b}` in `named` by per-head
 * `layers.<l>.attn.{q,k,v}.h<i>.{w,b}` ([D, D/H] and [D/H]) once both halves are loaded, freeing the
 * originals. Projections already split (in `done`) or of a shape that does not split are left alone
 * (the assembler then reports a misfit shape). Returns the projections split by this call.
 */
export function splitHeads(
  named: Record<string, Tensor>,
  numLayers: number,
  heads: number,
  done: Set<string>,
): string[] {
  const split: string[] = [];
  for (let l = 0; l < numLayers; l++) {
    for (const p of ['q', 'k', 'v']) {
      const n = `layers.${l}.attn.${p}`;
      const w = named[`${n}.w`];
      const b = named[`${n}.b`];
      if (done.has(n) || !w || !b || w.rank !== 2 || b.rank !== 1 || w.shape[1] !== b.shape[0] || w.shape[1] % heads)
        continue;
      const ws = tf.split(w, heads, 1); // H x [D, Dh]
      const bs = tf.split(b, heads); // H x [Dh]
      ws.forEach((wh, h) => {
        named[`${n}.h${h}.w`] = wh;
        named[`${n}.h${h}.b`] = bs[h];
      });
      w.dispose();
      b.dispose();
      delete named[`${n}.w`];
      delete named[`${n}.b`];
      done.add(n);
      split.push(n);
    }
  }
  return split;
}
