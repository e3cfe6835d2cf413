import type { WeightGroup } from './manifest';

/** The first weight in a shard holding NaN or ±Inf, as "name (value at element i)"; null when all are finite. */
export function firstNonFinite(bytes: ArrayBuffer, group: WeightGroup): string | null {
  let at = 0;
  for (const w of group.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.quantization?.dtype === 'float16') {
      // exponent bits all set: Inf or NaN in IEEE half precision
      const half = new Uint16Array(bytes, at, n);
      for (let i = 0; i < n; i++) {
        if ((half[i] & 0x7c00) === 0x7c00)
          return `${w.name} (${half[i] & 0x3ff ? 'NaN' : half[i] & 0x8000 ? '-Infinity' : 'Infinity'} at element ${i})`;
      }
      at += 2 * n;
    } else {
      const f = new Float32Array(bytes, at, n);
      for (let i = 0; i < n; i++) if (!Number.isFinite(f[i])) return `${w.name} (${f[i]} at element ${i})`;
      at += 4 * n;
    }
  }
  return null;
}
