// On tfjs-wasm, splitting a [T, D] projection into heads along its columns (SplitV) is a strided
// copy that costs more than the projection itself. Split instead the weights, once at load: each head
// gets its own [D, Dh] projection, a plain 2-D product that XNNPACK runs at the same rate as the
// whole projection, and nothing is split per clip. The products are the same numbers: each output
// column is the same row-by-column dot product either way. The split is a copy of the shard's values
// in JavaScript, before any tensor exists: splitting tensors on the backend (tf.split) is the same slow
// strided copy, once per weight.

const PROJECTION = /^layers\.(\d+)\.attn\.([qkv])\.([wb])$/;

/**
 * Whether the weight `name` of `shape` is an encoder query/key/value projection (weight [D, D'] or
 * bias [D']) of a layer below `numLayers` that splits into `heads` heads. Anything else, a misfit
 * shape included, stays whole (the assembler then reports a misfit).
 */
export function splitsPerHead(name: string, shape: number[], numLayers: number, heads: number): boolean {
  const m = PROJECTION.exec(name);
  if (!m || Number(m[1]) >= numLayers || heads < 1) return false;
  const rank = m[3] === 'w' ? 2 : 1;
  return shape.length === rank && shape[rank - 1] % heads === 0;
}

/**
 * A projection's values split per head: `layers.<l>.attn.<p>.h<i>.<w|b>`, each [D, D'/H] or [D'/H]
 * (row-major), one head at a time. Biases are views of `values`; weights are copies, one row slice
 * at a time, into new arrays or, given `scratch` (at least D·D'/H values), all into it: each part is
 * then valid only until the next is taken, for a backend that copies values as a tensor is made.
 */
export function* splitHeadValues(
  name: string,
  values: Float32Array,
  shape: number[],
  heads: number,
  scratch?: Float32Array,
): Generator<{ name: string; values: Float32Array; shape: number[] }> {
  const stem = name.slice(0, -2);
  const kind = name.slice(-1);
  const cols = shape[shape.length - 1];
  const dh = cols / heads;
  if (kind === 'b') {
    for (let h = 0; h < heads; h++)
      yield { name: `${stem}.h${h}.b`, values: values.subarray(h * dh, (h + 1) * dh), shape: [dh] }; // [Dh]
    return;
  }
  const rows = shape[0];
  for (let h = 0; h < heads; h++) {
    const out = scratch ? scratch.subarray(0, rows * dh) : new Float32Array(rows * dh); // [D, Dh]
    for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols + h * dh, r * cols + (h + 1) * dh), r * dh);
    yield { name: `${stem}.h${h}.w`, values: out, shape: [rows, dh] };
  }
}
