import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

// On tfjs-wasm, splitting a [T, D] projection into heads along its columns (SplitV) is a strided
// copy through JavaScript that costs more than the projection itself. Split instead the weights, once
// at load: each head gets its own [D, Dh] projection, a plain 2-D product that XNNPACK runs at the
// same rate as the whole projection, and nothing is split per clip. The products are the same numbers:
// each output column is the same row-by-column dot product either way.

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
