import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { parseManifest } from '../model/manifest';
import {
  type LoadOptions,
  type RatModel,
  ShardError,
  type WeightSource,
  loadRatModel,
  shardSizeError,
} from '../model/load';
import { restartBackend, setMemoryGuard } from '../model/out-of-memory';
import type { PreparedReference } from '../model/rat';
import { NoAdapterError, registerNodeWebGPU } from './node-webgpu';

// Node-only glue: tfjs backends and weights read from a folder. The model code itself has no fs.

export type NodeBackend = 'wasm' | 'cpu' | 'webgpu';

export async function useBackend(name: NodeBackend): Promise<void> {
  // after a failed start tfjs still names the backend current, with no instance behind it
  if (tf.getBackend() === name && tf.findBackend(name)) return;
  if (name === 'webgpu') await registerNodeWebGPU();
  let started: boolean;
  try {
    started = await tf.setBackend(name);
  } catch (e) {
    if (name !== 'webgpu' || e instanceof NoAdapterError) throw e;
    throw new NoAdapterError((e as Error).message);
  }
  if (!started)
    throw name === 'webgpu'
      ? new NoAdapterError('the device did not start')
      : new Error(`The tfjs ${name} backend could not start.`);
  await tf.ready();
}

export async function weightsFromDir(dir: string): Promise<WeightSource> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `No model.json in ${dir}. Pass a folder written by "npm run convert-weights" (for example public/weights/demo).`,
    );
  }
  const manifest = parseManifest(text, file);
  return {
    manifest,
    async readShard(name, expectedBytes) {
      // a shard must be a regular file of the folder, of the size the manifest lists: a link out
      // of the folder, a device (/dev/zero never ends) or a wrong file is refused before a byte is read
      const p = path.join(dir, name);
      const where = `Weight shard ${name} listed in ${file}`;
      const real = await realpath(p).catch(() => null);
      if (!real) throw new ShardError(`${where} is missing. Re-copy or re-convert the weights folder.`);
      const root = await realpath(dir);
      if (path.dirname(real) !== root)
        throw new ShardError(
          `${where} is not a file of the folder (it leads to ${real}). A weights folder holds its shards itself.`,
        );
      const info = await stat(real);
      if (!info.isFile())
        throw new ShardError(
          `${where} is not a regular file (it leads to ${real}). A weights folder holds its shards itself.`,
        );
      if (info.size !== expectedBytes) throw shardSizeError(name, info.size, expectedBytes);
      const b = await readFile(real);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
  };
}

export async function loadModelFromDir(
  dir: string,
  backend: NodeBackend = 'wasm',
  opts?: LoadOptions,
): Promise<RatModel> {
  await useBackend(backend);
  return loadRatModel(await weightsFromDir(dir), opts);
}

/** After a trapped pass: a fresh backend, the weights reloaded and the reference (if any) prepared again. */
export async function reloadAfterTrap(
  backend: NodeBackend,
  weights: string,
  refWave: Float32Array | null,
): Promise<{ model: RatModel; ref: PreparedReference | null }> {
  await restartBackend(backend);
  const model = await loadModelFromDir(weights, backend);
  return { model, ref: refWave ? await model.prepareReference(refWave) : null };
}

/** Tests only: RAT_MEMORY_GUARD=off lets a pass run into the real limit instead of being refused by the estimate. */
export function memoryGuardFromEnv(): void {
  if (process.env.RAT_MEMORY_GUARD === 'off') setMemoryGuard(false);
}
