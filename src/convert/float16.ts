import { Float16Array, getFloat16 } from '@petamoriken/float16';

let table: Float32Array | null = null;

/** IEEE half bits -> float32, through a 65 536-entry table (the library's element access is slow). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    const view = new DataView(new ArrayBuffer(2));
    for (let i = 0; i < 65536; i++) {
      view.setUint16(0, i, true);
      table[i] = getFloat16(view, 0, true);
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** float32 -> IEEE half bits, round to nearest even. */
export function float32ToFloat16Bits(x: Float32Array): Uint16Array {
  return new Uint16Array(new Float16Array(x).buffer);
}
