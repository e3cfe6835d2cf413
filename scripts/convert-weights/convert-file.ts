import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildManifest, planConversion, writeShards } from '../../src/convert/convert';
import type { ConfigOverrides } from '../../src/convert/keymap';
import type { RatManifest } from '../../src/model/manifest';

export interface ConvertFileOptions {
  out: string;
  overrides?: ConfigOverrides;
  dtype?: 'float32' | 'float16';
  label?: string;
  demo?: boolean;
  shardBytes?: number;
  /** Replace an existing weights folder (default false). */
  force?: boolean;
  onTensor?: (done: number, total: number, name: string) => void;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Converts a checkpoint file into a weights folder; writes into a temporary sibling and renames, so a failure leaves nothing half-written. */
export async function convertFile(checkpoint: string, opts: ConvertFileOptions): Promise<RatManifest> {
  const info = await stat(checkpoint).catch(() => null);
  if (!info?.isFile()) throw new Error(`${checkpoint} is not a file.`);
  const existing = await stat(opts.out).catch(() => null);
  if (existing && !opts.force) throw new Error(`${opts.out} already exists; pass --force to replace it.`);
  const plan = await planConversion(await openAsBlob(checkpoint), opts.overrides);
  const tmp = `${opts.out.replace(/\/+$/, '')}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const dtype = opts.dtype ?? 'float32';
    const [groups, sha256] = await Promise.all([
      writeShards(plan.tensors(), (file, bytes) => writeFile(path.join(tmp, file), bytes), {
        dtype, shardBytes: opts.shardBytes, onTensor: (done, name) => opts.onTensor?.(done, plan.count, name),
      }),
      sha256File(checkpoint),
    ]);
    const manifest = buildManifest(plan.config, groups, {
      label: opts.label ?? path.basename(checkpoint),
      demo: opts.demo ?? false,
      dtype,
      source: { file: path.basename(checkpoint), format: plan.format, bytes: info.size, sha256 },
    });
    await writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest, null, 1));
    if (existing) await rm(opts.out, { recursive: true, force: true });
    await rename(tmp, opts.out);
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
