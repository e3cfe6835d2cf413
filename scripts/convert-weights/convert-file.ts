import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseManifest } from '../../src/model/manifest';
import { CheckpointError } from '../../src/convert/checkpoint';
import { buildManifest, planConversion, writeShards } from '../../src/convert/convert';
import { type ConfigOverrides, LayoutError } from '../../src/convert/keymap';
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

/**
 * --force replaces a weights folder and nothing else: a folder holding a converted model.json and
 * only the shards it lists. Anything more (or a file) would be deleted with it, so it is refused.
 */
async function checkReplaceable(out: string, isDir: boolean): Promise<void> {
  if (!isDir)
    throw new Error(
      `${out} is a file, not a weights folder: --force replaces only a folder written by convert-weights. Choose another --out.`,
    );
  let listed: Set<string>;
  try {
    const manifest = parseManifest(await readFile(path.join(out, 'model.json'), 'utf8'), path.join(out, 'model.json'));
    listed = new Set(['model.json', ...manifest.weightsManifest.map((g) => g.paths[0])]);
  } catch {
    const names = await readdir(out);
    throw new Error(
      `${out} is not a weights folder (no converted model.json${names.length ? `; it holds ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}` : ''}): --force replaces only a folder written by convert-weights. Choose another --out.`,
    );
  }
  const others = (await readdir(out)).filter((n) => !listed.has(n));
  if (others.length) {
    throw new Error(
      `${out} holds files its model.json does not list (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}): --force would delete them too. Move them or choose another --out.`,
    );
  }
}

/** Converts a checkpoint file into a weights folder; writes into a temporary sibling and renames, so a failure leaves nothing half-written. */
export async function convertFile(checkpoint: string, opts: ConvertFileOptions): Promise<RatManifest> {
  const info = await stat(checkpoint).catch(() => null);
  if (!info?.isFile()) throw new Error(`${checkpoint} is not a file.`);
  const existing = await stat(opts.out).catch(() => null);
  if (existing && !opts.force) throw new Error(`${opts.out} already exists; pass --force to replace it.`);
  if (existing) await checkReplaceable(opts.out, existing.isDirectory());
  // what the checkpoint holds is refused by a reader that never saw its path: the message gets it here
  const named = (e: unknown) => {
    if (e instanceof CheckpointError || e instanceof LayoutError) e.message = `${checkpoint}: ${e.message}`;
    return e;
  };
  const plan = await planConversion(await openAsBlob(checkpoint), opts.overrides).catch((e) => {
    throw named(e);
  });
  const tmp = `${opts.out.replace(/\/+$/, '')}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const dtype = opts.dtype ?? 'float32';
    const [groups, sha256] = await Promise.all([
      writeShards(plan.tensors(), (file, bytes) => writeFile(path.join(tmp, file), bytes), {
        dtype,
        shardBytes: opts.shardBytes,
        onTensor: (done, name) => opts.onTensor?.(done, plan.count, name),
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
    throw named(e);
  }
}
