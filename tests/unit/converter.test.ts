import { openAsBlob, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobReader, type FileEntry, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter } from '@zip.js/zip.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { openCheckpoint } from '../../src/convert/checkpoint';
import { planConversion } from '../../src/convert/convert';
import type { RatManifest } from '../../src/model/manifest';
import { FIXTURES, readGolden, tempDir } from '../helpers';

const TINY_PT = path.join(FIXTURES, 'tiny/checkpoint.pt');
let dir: string;
let reference: RatManifest;

beforeAll(async () => {
  dir = tempDir('convert');
  reference = await convertFile(TINY_PT, { out: path.join(dir, 'reference') });
});

const shardDigests = (m: RatManifest) => m.weightsManifest.map((g) => g.sha256[0]);

/** The tiny checkpoint's archive entries, for rebuilding variants of it. */
async function entries(): Promise<{ name: string; data: Uint8Array }[]> {
  const reader = new ZipReader(new BlobReader(new Blob([readFileSync(TINY_PT)])));
  const out = [];
  for (const e of (await reader.getEntries()) as FileEntry[])
    out.push({ name: e.filename, data: await e.getData(new Uint8ArrayWriter()) });
  return out;
}

async function zip(
  files: { name: string; data: Uint8Array }[],
  opts: { zip64?: boolean; level?: number } = {},
): Promise<string> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { level: opts.level ?? 0, zip64: opts.zip64 ?? false });
  for (const f of files) await writer.add(f.name, new Uint8ArrayReader(f.data));
  const file = path.join(dir, `variant-${Math.random().toString(36).slice(2)}.pt`);
  writeFileSync(file, await writer.close());
  return file;
}

let outputs = 0;
const convert = (file: string, overrides?: object) =>
  convertFile(file, { out: path.join(dir, `out-${++outputs}`), overrides });

/** A protocol-2 pickle that calls module.name(arg) when loaded by Python's pickle. */
function maliciousPickle(module: string, name: string, arg = 'echo pwned'): Uint8Array {
  const enc = new TextEncoder();
  const a = enc.encode(arg);
  return new Uint8Array([
    0x80,
    0x02,
    0x63,
    ...enc.encode(`${module}\n${name}\n`),
    0x71,
    0x00,
    0x58,
    a.length,
    0,
    0,
    0,
    ...a,
    0x85,
    0x52,
    0x2e,
  ]);
}

describe('converter: accepted layouts', () => {
  it('writes one manifest entry per model weight, with source SHA-256 and shard digests', () => {
    expect(reference.format).toBe('rat-tfjs-weights');
    expect(reference.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(reference.source?.format).toBe('pytorch-zip');
    expect(reference.weightsManifest.flatMap((g) => g.weights)).toHaveLength(7 * 4 + 4 + 2 + 3 * 16 + 16 + 14);
    expect(reference.config.numLayers).toBe(3);
    expect(reference.config.posConvKernel).toBe(16);
  });

  it('reads .safetensors with the same keys into identical shards', async () => {
    const m = await convert(path.join(FIXTURES, 'tiny/checkpoint.safetensors'));
    expect(m.source?.format).toBe('safetensors');
    expect(shardDigests(m)).toEqual(shardDigests(reference));
  });

  it('reads a ZIP64 archive with another root folder name into identical shards', async () => {
    const files = (await entries()).map((f) => ({ ...f, name: f.name.replace(/^[^/]+\//, 'my_rat_v2/') }));
    const m = await convert(await zip(files, { zip64: true }));
    expect(shardDigests(m)).toEqual(shardDigests(reference));
  });

  it('strips module. and reads the parametrizations spelling of weight norm (the odd fixture is saved that way)', async () => {
    const ckpt = await openCheckpoint(await openAsBlob(path.join(FIXTURES, 'odd/checkpoint.pt')));
    const keys = [...ckpt.tensors.keys()];
    expect(keys.every((k) => k.startsWith('module.'))).toBe(true);
    expect(keys.some((k) => k.endsWith('parametrizations.weight.original1'))).toBe(true);
    const m = await convert(path.join(FIXTURES, 'odd/checkpoint.pt'), readGolden('odd').convert_config!);
    expect(m.config.convLayers).toEqual(readGolden('odd').convert_config!.extractor_conv_layer_config);
    expect([m.config.numHeads, m.config.ribHeads, m.config.posConvKernel, m.config.posConvGroups]).toEqual([
      6, 3, 7, 4,
    ]);
  });

  it('float16 halves the shard bytes', async () => {
    const m = await convertFile(TINY_PT, { out: path.join(dir, 'f16'), dtype: 'float16' });
    const bytes = (x: RatManifest) =>
      x.weightsManifest
        .flatMap((g) => g.weights)
        .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 2 : 4), 0);
    expect(bytes(m) * 2).toBe(bytes(reference));
    expect(m.weightsManifest[0].weights[0].quantization).toEqual({ dtype: 'float16' });
  });
});

describe('converter: refused input, with a message naming the problem', () => {
  it.each([
    ['os', 'system'],
    ['builtins', 'eval'],
    ['subprocess', 'Popen'],
    ['posix', 'system'],
    ['my_module', 'anything'],
    ['torch', 'load'],
  ])('refuses a pickle that calls %s.%s', async (module, name) => {
    const files = (await entries()).map((f) =>
      f.name.endsWith('data.pkl') ? { ...f, data: maliciousPickle(module, name) } : f,
    );
    await expect(convert(await zip(files))).rejects.toThrow(`"${module}.${name}"`);
  });

  it('refuses a truncated archive', async () => {
    const bytes = readFileSync(TINY_PT);
    for (const keep of [0.1, 0.5, 0.99]) {
      const file = path.join(dir, `truncated-${keep}.pt`);
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * keep)));
      await expect(convert(file)).rejects.toThrow(/truncated/);
    }
  });

  it('names a missing storage', async () => {
    const files = (await entries()).filter((f) => !f.name.endsWith('/data/7'));
    await expect(convert(await zip(files))).rejects.toThrow(/storage .*data\/7.*incomplete/);
  });

  it('refuses an archive with two entries of one name (PyTorch would read the first, a last-wins reader the other)', async () => {
    const files = await entries();
    const data0 = files.find((f) => f.name.endsWith('/data/0'))!;
    // a same-length name, renamed to data/0 in the bytes (zip writers refuse duplicates themselves)
    const twin = {
      name: data0.name.replace(/0$/, 'Z'),
      data: new Uint8Array(new Float32Array(data0.data.byteLength / 4).fill(1000).buffer),
    };
    const file = await zip([...files, twin]);
    const bytes = readFileSync(file);
    const from = Buffer.from(twin.name);
    const to = Buffer.from(data0.name);
    let renamed = 0;
    for (let i = bytes.indexOf(from); i >= 0; i = bytes.indexOf(from, i + 1)) {
      to.copy(bytes, i);
      renamed++;
    }
    expect(renamed).toBe(2); // local header and central directory
    writeFileSync(file, bytes);
    await expect(convert(file)).rejects.toThrow(/two entries named .*data\/0/);
  });

  it('refuses a safetensors file whose tensors overlap', async () => {
    const header = JSON.stringify({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const file = path.join(dir, 'overlap.safetensors');
    writeFileSync(file, Buffer.concat([len, Buffer.from(header), Buffer.alloc(12)]));
    await expect(openCheckpoint(await openAsBlob(file))).rejects.toThrow(/Tensors a and b overlap/);
  });

  it('refuses compressed entries', async () => {
    await expect(convert(await zip(await entries(), { level: 6 }))).rejects.toThrow(/compressed/);
  });

  it('lists missing, misshapen and unexpected keys together', async () => {
    const ckpt = await openCheckpoint(await openAsBlob(TINY_PT));
    const header: Record<string, unknown> = {};
    const parts: Float32Array[] = [];
    let at = 0;
    const add = (k: string, shape: number[], data: Float32Array) => {
      header[k] = { dtype: 'F32', shape, data_offsets: [at, at + data.byteLength] };
      parts.push(data);
      at += data.byteLength;
    };
    for (const [k, t] of ckpt.tensors) {
      if (k.endsWith('layers.1.feed_forward.output_dense.bias')) continue;
      if (k === 'attn_mlp.2.weight') add(k, [t.shape[1], t.shape[0]], await t.read());
      else add(k, t.shape, await t.read());
    }
    add('extra.head.weight', [2], new Float32Array(2));
    const json = new TextEncoder().encode(JSON.stringify(header));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    const blob = new Blob([
      len,
      json,
      ...parts.map((p) => new Uint8Array(p.buffer as ArrayBuffer, p.byteOffset, p.byteLength)),
    ]);
    const err = await planConversion(blob).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      /missing extractor\.model\.model\.encoder\.transformer\.layers\.1\.feed_forward\.output_dense\.bias/,
    );
    expect(msg).toMatch(/attn_mlp\.2\.weight has shape \[256,64\], expected \[64,256\]/);
    expect(msg).toMatch(/unexpected extra\.head\.weight/);
  });

  it('asks for --config when strides cannot be inferred', async () => {
    await expect(convert(path.join(FIXTURES, 'odd/checkpoint.pt'))).rejects.toThrow(/--config/);
  });

  it('refuses files that are not checkpoints', async () => {
    const png = path.join(dir, 'image.pt');
    writeFileSync(png, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
    await expect(convert(png)).rejects.toThrow(/neither a PyTorch checkpoint/);
  });

  it('leaves no output folder behind on failure', async () => {
    const files = (await entries()).map((f) =>
      f.name.endsWith('data.pkl') ? { ...f, data: maliciousPickle('os', 'system') } : f,
    );
    const out = path.join(dir, 'never-written');
    await expect(convertFile(await zip(files), { out })).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith('never-written'))).toEqual([]);
  });
});
