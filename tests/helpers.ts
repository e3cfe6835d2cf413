import { openAsBlob } from 'node:fs';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCheckpoint } from '../src/convert/checkpoint';

export const FIXTURES = path.resolve(__dirname, 'fixtures');

export interface GoldenCase {
  clip: string;
  ref_mode: 'zero' | 'audio';
  ref: string | null;
  frames: number;
  p_bonafide: number;
  logits: [number, number];
  embedding: number[];
  attn_rms: number[];
  mlp_rms: number[];
}

export interface Golden {
  config: { num_layers: number };
  convert_config: Record<string, unknown> | null;
  cases: GoldenCase[];
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(path.join(FIXTURES, name, 'golden.json'), 'utf8'));
}

/** All tensors of a fixture safetensors file, as float32 arrays (read with the project's own reader). */
export async function readArrays(file: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const ckpt = await openCheckpoint(await openAsBlob(file));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of ckpt.tensors) out.set(k, { shape: t.shape, data: await t.read() });
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `rat-${prefix}-`));
}

/** Largest |a - b| over the largest |b|: a scale-free distance for whole feature maps. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}
