import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { parseManifest } from '../model/manifest';
import { type LoadOptions, type RatModel, type WeightSource, loadRatModel } from '../model/load';

// Node-only glue: tfjs backends and weights read from a folder. The model code itself has no fs.

export type NodeBackend = 'wasm' | 'cpu';

export async function useBackend(name: NodeBackend): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`The tfjs ${name} backend could not start.`);
  await tf.ready();
}

export async function weightsFromDir(dir: string): Promise<WeightSource> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`No model.json in ${dir}. Pass a folder written by "npm run convert-weights" (for example public/weights/demo).`);
  }
  const manifest = parseManifest(text, file);
  return {
    manifest,
    async readShard(name) {
      try {
        const b = await readFile(path.join(dir, name));
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      } catch {
        throw new Error(`Weight shard ${name} listed in ${file} is missing. Re-copy or re-convert the weights folder.`);
      }
    },
  };
}

export async function loadModelFromDir(dir: string, backend: NodeBackend = 'wasm', opts?: LoadOptions): Promise<RatModel> {
  await useBackend(backend);
  return loadRatModel(await weightsFromDir(dir), opts);
}
