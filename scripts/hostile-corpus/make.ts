// Generates the hostile-input corpus: checkpoints (pickle, zip and safetensors families) and weights
// folders made to break the converter and the loaders, each listed in cases.json with the paths it is
// run through and the refusal each path must give. tests/node/hostile-corpus.test.ts runs the CLI
// converter and the CLI scorer on it, tests/e2e/e2e-hostile-corpus.test.ts the page.
//
//   npm run hostile-corpus -- <out-dir>
//
// Everything derives from the tiny fixture checkpoint and the hand-built pickles of
// tests/pickle-builder.ts, so a rerun gives the same corpus. Files stay small where the refusal does
// not need size (the object and entry bounds are hit by a few MB); the oversized shard is sparse.

import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zc, crc32, deflateRawSync } from 'node:zlib';
import { BlobReader, type FileEntry, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import type { RatManifest } from '../../src/model/manifest';
import { op, stateDictPickle, torchZip } from '../../tests/pickle-builder';
import { convertFile } from '../convert-weights/convert-file';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TINY_PT = path.join(ROOT, 'tests/fixtures/tiny/checkpoint.pt');
const TINY_ST = path.join(ROOT, 'tests/fixtures/tiny/checkpoint.safetensors');

export type HostileFamily = 'pickle' | 'zip' | 'safetensors' | 'weights-folder';
/** cli-convert: npm run convert-weights; cli-score: npm run score --weights; page-convert: the page's checkpoint or folder picker. */
export type HostilePath = 'cli-convert' | 'cli-score' | 'page-convert';

export interface HostileCase {
  id: string;
  family: HostileFamily;
  /** What the case is, for the report table. */
  what: string;
  /** The checkpoint file or weights folder, relative to the corpus folder. */
  file: string;
  /**
   * The paths the case runs through, each with the refusal it must give (a RegExp source). The paths a
   * case lacks do not take its input: the score CLI reads weights folders only, and a page reads what
   * the browser hands it, so where a link in a picked folder leads is the browser's business.
   */
  paths: Partial<Record<HostilePath, string>>;
  /**
   * load: the checkpoint or folder is refused. score: it is accepted (its values are finite) and
   * scoring a clip is refused, with no score shown or written.
   */
  stage: 'load' | 'score';
}

export interface HostileCorpus {
  /** A valid weights folder and checkpoint the cases were made from: the harness must accept them. */
  good: { folder: string; checkpoint: string };
  cases: HostileCase[];
}

const enc = new TextEncoder();
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Concatenates byte parts without spreading millions of numbers into one call. */
function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const repeat = (part: number[] | Uint8Array, n: number) => concat(Array(n).fill(part));

// --- a zip writer that can lie -------------------------------------------------------------------------
// zip.js (what torchZip uses) writes only honest archives: no duplicate names, true sizes, no
// precompressed data. These entries say whatever the case needs.

interface RawEntry {
  name: string;
  /** The bytes stored in the archive (already compressed when method is 8). */
  data: Uint8Array;
  /** 0 stored, 8 deflate. */
  method?: number;
  /** Declared sizes and CRC; default: the stored data's. */
  size?: number;
  compressedSize?: number;
  crc?: number;
}

function rawZip(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = e.crc ?? crc32(e.data);
    const csize = e.compressedSize ?? e.data.length;
    const size = e.size ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(e.method ?? 0, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(csize, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(e.method ?? 0, 10);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(csize, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, e.data);
    central.push(cd, name);
    offset += local.length + name.length + e.data.length;
  }
  const cdBytes = concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return concat([...parts, cdBytes, end]);
}

/** The tiny fixture checkpoint's entries (name and stored bytes), in archive order. */
async function tinyEntries(): Promise<RawEntry[]> {
  const reader = new ZipReader(new BlobReader(new Blob([readFileSync(TINY_PT)])));
  const out: RawEntry[] = [];
  for (const e of (await reader.getEntries()) as FileEntry[])
    out.push({ name: e.filename, data: await e.getData(new Uint8ArrayWriter()) });
  await reader.close();
  return out;
}

/** Raw deflate of `mib` MiB of zeros, from one compressed MiB repeated (each piece a complete, non-final block run). */
function deflatedZeros(mib: number): { data: Uint8Array; crc: number } {
  const zeros = new Uint8Array(1 << 20);
  const piece = deflateRawSync(zeros, { level: 9, finishFlush: zc.Z_SYNC_FLUSH });
  const final = deflateRawSync(new Uint8Array(0));
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc);
  return { data: concat([repeat(piece, mib), final]), crc };
}

// --- safetensors ---------------------------------------------------------------------------------------

type StHeader = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

function readSafetensors(file: string): { header: StHeader; data: Buffer } {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString('utf8')), data: b.subarray(8 + n) };
}

function safetensors(header: object, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const json = enc.encode(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  return concat([len, json, data]);
}

// --- weights folders -----------------------------------------------------------------------------------

function readManifest(folder: string): RatManifest {
  return JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8'));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// --- the corpus ----------------------------------------------------------------------------------------

/**
 * Writes the corpus into `out` (created; must not exist or be empty) and returns what cases.json holds.
 * The shards of the weights-folder cases are small (64 KiB) so each damage hits a named shard.
 */
export async function makeHostileCorpus(out: string): Promise<HostileCorpus> {
  if (existsSync(out) && readdirSync(out).length)
    throw new Error(`${out} is not empty: the corpus is written into a new or empty folder. Choose another one.`);
  mkdirSync(out, { recursive: true });
  const cases: HostileCase[] = [];
  const at = (rel: string) => path.join(out, rel);
  const file = (rel: string, bytes: Uint8Array) => {
    mkdirSync(path.dirname(at(rel)), { recursive: true });
    writeFileSync(at(rel), bytes);
    return rel;
  };
  const checkpointCase = (c: Omit<HostileCase, 'paths' | 'stage'> & { refusal: string; stage?: 'load' | 'score' }) =>
    cases.push({
      id: c.id,
      family: c.family,
      what: c.what,
      file: c.file,
      paths: { 'cli-convert': c.refusal, 'page-convert': c.refusal },
      stage: c.stage ?? 'load',
    });

  // the good inputs everything below is derived from
  const good = 'good/folder';
  await convertFile(TINY_PT, { out: at(good), label: 'hostile corpus base', shardBytes: 64 * 1024 });
  cpSync(TINY_PT, at('good/checkpoint.pt'));
  const base = readManifest(at(good));
  const shard = (g: number) => base.weightsManifest[g].paths[0];

  /** A copy of the good folder, damaged by `edit`; the manifest is rewritten when edit returns one. */
  const folder = (id: string, edit: (dir: string, m: RatManifest) => RatManifest | void) => {
    const rel = `weights-folder/${id}`;
    cpSync(at(good), at(rel), { recursive: true });
    const m = readManifest(at(rel));
    const changed = edit(at(rel), m);
    if (changed) writeFileSync(path.join(at(rel), 'model.json'), JSON.stringify(changed));
    return rel;
  };
  const folderCase = (
    id: string,
    what: string,
    paths: Partial<Record<HostilePath, string>>,
    edit: (dir: string, m: RatManifest) => RatManifest | void,
    stage: 'load' | 'score' = 'load',
  ) => cases.push({ id, family: 'weights-folder', what, file: folder(id, edit), paths, stage });
  const both = (refusal: string) => ({ 'cli-score': refusal, 'page-convert': refusal });

  // --- weights folders: sizes in model.json's config -------------------------------------------------
  const manifestRefusal = 'model\\.json is not a usable RAT weights manifest:[\\s\\S]*';
  const config = (
    id: string,
    what: string,
    set: (c: Record<string, unknown>) => void,
    refusal: string, // after "config: "
  ) =>
    folderCase(id, what, both(`${manifestRefusal}config: ${refusal}`), (_, m) => {
      set(m.config as unknown as Record<string, unknown>);
      return m;
    });
  config(
    'config-num-layers-1e9',
    'config numLayers 1e9',
    (c) => (c.numLayers = 1e9),
    'numLayers is 1000000000; at most 128',
  );
  config(
    'config-embed-dim-2e31',
    'config embedDim 2^31',
    (c) => (c.embedDim = 2 ** 31),
    'embedDim is 2147483648; at most 8192',
  );
  config('config-ffn-dim-1e9', 'config ffnDim 1e9', (c) => (c.ffnDim = 1e9), 'ffnDim is 1000000000; at most 65536');
  config('config-heads-1e9', 'config numHeads 1e9', (c) => (c.numHeads = 1e9), 'numHeads is 1000000000; at most 1024');
  config(
    'config-conv-layers-10000',
    'config convLayers: 10,000 layers',
    (c) => (c.convLayers = Array(10_000).fill([128, 3, 2])),
    'convLayers lists 10000 layers; at most 16',
  );
  config(
    'config-conv-kernel-1e9',
    'config convLayers[0] kernel 1e9',
    (c) => ((c.convLayers as number[][])[0] = [128, 1e9, 5]),
    'convLayers\\[0\\] is \\[128,1000000000,5\\]; at most',
  );
  config(
    'config-pos-kernel-1e9',
    'config posConvKernel 1e9',
    (c) => (c.posConvKernel = 1e9),
    'posConvKernel is 1000000000; at most 1024',
  );
  config(
    'config-sizes-together',
    'config sizes each allowed, together 1.7e10 weights',
    (c) => Object.assign(c, { numLayers: 128, embedDim: 8192, ffnDim: 65536 }),
    'the sizes imply .* weight values; at most 1e\\+9',
  );

  // --- weights folders: shards ---------------------------------------------------------------------
  const replaceShard = (g: number, make: (dir: string, p: string) => void) => (dir: string) => {
    const p = path.join(dir, shard(g));
    rmSync(p);
    make(dir, p);
  };
  const notInFolder = (target: string) =>
    `Weight shard ${escape(shard(1))} listed in .*model\\.json is not a file of the folder \\(it leads to ${escape(target)}\\)`;
  folderCase(
    'shard-link-dev-zero',
    'shard a symlink to /dev/zero',
    {
      'cli-score': notInFolder('/dev/zero'),
      // the browser hands a device over as an empty file (or not at all)
      'page-convert': `Weight shard ${escape(shard(1))} (has 0 bytes, the manifest expects \\d+|listed in model\\.json is missing)`,
    },
    replaceShard(1, (_, p) => symlinkSync('/dev/zero', p)),
  );
  folderCase(
    'shard-link-etc-passwd',
    'shard a symlink to /etc/passwd',
    {
      'cli-score': notInFolder('/etc/passwd'),
      'page-convert': `Weight shard ${escape(shard(1))} (has \\d+ bytes, the manifest expects \\d+|listed in model\\.json is missing)`,
    },
    replaceShard(1, (_, p) => symlinkSync('/etc/passwd', p)),
  );
  // a link to a copy of the right shard outside the folder: the bytes are right, the place is not
  mkdirSync(at('outside'), { recursive: true });
  cpSync(path.join(at(good), shard(1)), at(`outside/${shard(1)}`));
  folderCase(
    'shard-link-outside',
    'shard a symlink leaving the folder (right bytes)',
    { 'cli-score': notInFolder(at(`outside/${shard(1)}`)) },
    replaceShard(1, (dir, p) => symlinkSync(path.relative(dir, at(`outside/${shard(1)}`)), p)),
  );
  folderCase(
    'shard-oversized-1g',
    'shard of 1 GiB (sparse) where 64 KiB is listed',
    both(`Weight shard ${escape(shard(1))} has 1073741824 bytes, the manifest expects \\d+: the file is not the one`),
    (dir) => truncateSync(path.join(dir, shard(1)), 1 << 30),
  );
  folderCase(
    'shard-short',
    'shard shorter than listed (100 bytes)',
    both(`Weight shard ${escape(shard(1))} has 100 bytes, the manifest expects \\d+: the file is truncated`),
    (dir) => {
      const p = path.join(dir, shard(1));
      writeFileSync(p, readFileSync(p).subarray(0, 100));
    },
  );
  folderCase(
    'shard-missing',
    'shard listed but missing',
    both(`Weight shard ${escape(shard(2))} listed in .*model\\.json is missing`),
    (dir) => rmSync(path.join(dir, shard(2))),
  );
  folderCase(
    'shard-corrupted',
    'shard with one flipped bit',
    both(`Weight shard ${escape(shard(3))} is corrupted: its SHA-256 is [0-9a-f]{64}, the manifest lists`),
    (dir) => {
      const p = path.join(dir, shard(3));
      const b = readFileSync(p);
      b[b.length >> 1] ^= 1;
      writeFileSync(p, b);
    },
  );
  folderCase(
    'shard-nan',
    'NaN weight in a re-signed shard',
    both(`Weight shard ${escape(shard(1))} holds a non-finite value in .*\\(NaN at element 3\\)`),
    (dir, m) => {
      const p = path.join(dir, shard(1));
      const b = readFileSync(p);
      b.writeFloatLE(NaN, 12);
      writeFileSync(p, b);
      m.weightsManifest[1].sha256 = [sha256(b)];
      return m;
    },
  );
  for (const [id, name] of [
    ['shard-name-traversal', '../../etc/passwd'],
    ['shard-name-absolute', '/etc/passwd'],
  ] as const)
    folderCase(
      id,
      `shard named ${name}`,
      both(`${manifestRefusal}group 0: shard name ${escape(JSON.stringify(name))} is not a plain file name`),
      (_, m) => {
        m.weightsManifest[0].paths = [name];
        return m;
      },
    );
  folderCase(
    'shapes-misfit',
    'listed shapes that do not fit the config',
    both(`${manifestRefusal}has shape \\[[\\d,]+\\], the config needs`),
    (_, m) => {
      m.config.ffnDim += 8;
      return m;
    },
  );

  // --- pickle family (torch.save archives around hand-built pickles) -------------------------------
  const pt = async (rel: string, pickle: Uint8Array, storages: Record<string, Uint8Array> = {}) =>
    file(rel, await torchZip(pickle, storages));
  const pickleRefusal = (s: string) => `Refused the checkpoint's pickle: ${s}`;
  const ordered = [...op.proto(2), ...op.global('collections', 'OrderedDict'), ...op.emptyTuple(), ...op.reduce()];
  // a million dict entries in batches of a thousand: each batch fits the stack, only the entry count grows
  const pairs = concat(Array.from({ length: 1000 }, (_, i) => [...op.int(i), ...op.int(0)]));
  const batch = concat([op.mark(), pairs, op.setitems()]);
  checkpointCase({
    id: 'pickle-dict-million-entries',
    family: 'pickle',
    what: 'state_dict pickle of a million entries',
    file: await pt('pickle/dict-million-entries.pt', concat([ordered, repeat(batch, 1000), op.stop()])),
    refusal: pickleRefusal("the pickle's dicts and lists hold more than 50,000 entries"),
  });
  const ints = concat([op.mark(), repeat(op.int(7), 100_000), op.tuple()]);
  checkpointCase({
    id: 'pickle-objects-2m',
    family: 'pickle',
    what: 'pickle pushing 2.1 million objects',
    file: await pt('pickle/objects-2m.pt', concat([op.proto(2), repeat(ints, 21), op.emptyDict(), op.stop()])),
    refusal: pickleRefusal('the pickle builds more than 2,000,000 objects'),
  });
  checkpointCase({
    id: 'pickle-deep-nesting',
    family: 'pickle',
    what: 'lists nested 200,000 deep',
    file: await pt(
      'pickle/deep-nesting.pt',
      concat([op.proto(2), repeat(op.emptyList(), 200_000), repeat(op.append(), 199_999), op.stop()]),
    ),
    refusal: pickleRefusal("the pickle's dicts and lists hold more than 50,000 entries"),
  });
  checkpointCase({
    id: 'pickle-global-os-system',
    family: 'pickle',
    what: 'pickle calling os.system',
    file: await pt(
      'pickle/global-os-system.pt',
      concat([op.proto(2), op.global('os', 'system'), op.str('echo pwned'), [0x85], op.reduce(), op.stop()]),
    ),
    refusal: pickleRefusal('The checkpoint\'s pickle refers to the Python global "os\\.system"'),
  });
  checkpointCase({
    id: 'pickle-tensor-2e40-storage',
    family: 'pickle',
    what: 'tensor of 2^40 elements, 16-byte storage',
    file: await pt(
      'pickle/tensor-2e40-storage.pt',
      stateDictPickle([{ key: 'classifier.6.weight', storage: '0', numel: 2 ** 40, shape: [2, 2 ** 39] }]),
      { 0: new Uint8Array(16) },
    ),
    refusal: 'Storage 0 of tensor classifier\\.6\\.weight has 16 bytes; 1099511627776 float32 values need',
  });
  checkpointCase({
    id: 'pickle-tensor-2e40-view',
    family: 'pickle',
    what: 'tensor of 2^40 elements as a stride-0 view',
    file: await pt(
      'pickle/tensor-2e40-view.pt',
      stateDictPickle([
        { key: 'classifier.6.weight', storage: '0', numel: 4, shape: [2 ** 20, 2 ** 20], stride: [0, 0] },
      ]),
      { 0: new Uint8Array(16) },
    ),
    refusal:
      'Tensor classifier\\.6\\.weight declares shape \\[1048576,1048576\\] \\(1099511627776 values\\), more values than its storage',
  });

  // --- zip family ----------------------------------------------------------------------------------
  const tiny = await tinyEntries();
  const root = tiny.find((e) => e.name.endsWith('/data.pkl'))!.name.slice(0, -'data.pkl'.length);
  const storage0 = tiny.find((e) => e.name === `${root}data/0`)!;
  checkpointCase({
    id: 'zip-duplicate-names',
    family: 'zip',
    what: 'two entries of one name (second: other values)',
    file: file(
      'zip/duplicate-names.pt',
      rawZip([...tiny, { name: storage0.name, data: new Uint8Array(storage0.data.length).fill(0x44) }]),
    ),
    refusal: `The archive holds two entries named ${escape(storage0.name)}`,
  });
  for (const [id, name] of [
    ['zip-traversal-entry', '../../etc/passwd'],
    ['zip-absolute-entry', '/etc/passwd'],
    ['zip-traversal-root', `../${root}data.pkl`],
  ] as const)
    checkpointCase({
      id,
      family: 'zip',
      what: `archive entry named ${name}`,
      file: file(
        `zip/${id.slice(4)}.pt`,
        rawZip(
          id === 'zip-traversal-root'
            ? tiny.map((e) => (e.name === `${root}data.pkl` ? { ...e, name } : e))
            : [...tiny, { name, data: enc.encode('root:x:0:0::/root:/bin/sh\n') }],
        ),
      ),
      refusal: `Archive entry ${escape(JSON.stringify(name))} is named outside the archive's folder`,
    });
  const bomb = deflatedZeros(2047);
  checkpointCase({
    id: 'zip-bomb-data-pkl',
    family: 'zip',
    what: `data.pkl deflated: ${(bomb.data.length / 2 ** 20).toFixed(1)} MiB to 2047 MiB`,
    file: file(
      'zip/bomb.pt',
      rawZip([
        { name: `${root}data.pkl`, data: bomb.data, method: 8, size: 2047 * 2 ** 20, crc: bomb.crc },
        ...tiny.filter((e) => !e.name.endsWith('/data.pkl')),
      ]),
    ),
    refusal: `Archive entry ${escape(root)}data\\.pkl is compressed \\(method 8\\)`,
  });
  checkpointCase({
    id: 'zip-huge-declared-size',
    family: 'zip',
    what: 'storage entry declaring 4 GiB in a 0.7 MB file',
    file: file(
      'zip/huge-declared-size.pt',
      rawZip(tiny.map((e) => (e === storage0 ? { ...e, size: 0xfffffff0, compressedSize: 0xfffffff0 } : e))),
    ),
    refusal: `Archive entry ${escape(storage0.name)} declares 4294967280 bytes`,
  });
  checkpointCase({
    id: 'zip-not-a-zip',
    family: 'zip',
    what: 'PNG bytes named .pt',
    file: file('zip/not-a-zip.pt', concat([[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], new Uint8Array(4096)])),
    refusal: 'neither a PyTorch checkpoint \\(\\.pt/\\.pth zip archive\\) nor a \\.safetensors file',
  });
  checkpointCase({
    id: 'zip-truncated',
    family: 'zip',
    what: 'archive cut in half (no central directory)',
    file: file('zip/truncated.pt', readFileSync(TINY_PT).subarray(0, 370_000)),
    refusal: 'not a readable PyTorch checkpoint archive',
  });
  checkpointCase({
    id: 'zip-legacy-pickle',
    family: 'zip',
    what: 'legacy (non-zip) torch.save pickle',
    file: file('zip/legacy.pt', concat([op.proto(2), op.emptyDict(), op.stop()])),
    refusal: 'legacy \\(pre-1\\.6, non-zip\\) torch\\.save file',
  });

  // --- safetensors family --------------------------------------------------------------------------
  const st = readSafetensors(TINY_ST);
  checkpointCase({
    id: 'st-huge-header-length',
    family: 'safetensors',
    what: 'header length 2^40',
    file: file('safetensors/huge-header-length.safetensors', safetensors({}, new Uint8Array(64), 2n ** 40n)),
    refusal: 'The safetensors header claims 1099511627776 bytes, but the file has \\d+',
  });
  const overlap = structuredClone(st.header);
  overlap['classifier.1.running_var'].data_offsets = overlap['classifier.1.running_mean'].data_offsets;
  checkpointCase({
    id: 'st-overlap',
    family: 'safetensors',
    what: 'two tensors on the same bytes',
    file: file('safetensors/overlap.safetensors', safetensors(overlap, st.data)),
    refusal: 'Tensors classifier\\.1\\.running_(mean|var) and classifier\\.1\\.running_(mean|var) overlap',
  });
  checkpointCase({
    id: 'st-tensor-2e40',
    family: 'safetensors',
    what: 'tensor of 2^40 elements',
    file: file(
      'safetensors/tensor-2e40.safetensors',
      safetensors(
        { 'classifier.6.weight': { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 2 ** 42] } },
        new Uint8Array(64),
      ),
    ),
    refusal: 'Tensor classifier\\.6\\.weight lies outside the file \\(offsets 0,4398046511104',
  });
  // finite weights whose logits overflow: every value of the last classifier layer at 3e38
  const data = Buffer.from(st.data);
  const [b, e] = st.header['classifier.6.weight'].data_offsets;
  for (let i = b; i < e; i += 4) data.writeFloatLE(3e38, i);
  const overflow = file('safetensors/logits-overflow.safetensors', safetensors(st.header, data));
  checkpointCase({
    id: 'st-logits-overflow',
    family: 'safetensors',
    what: 'finite weights (3e38) whose logits overflow',
    file: overflow,
    refusal: 'the weights produce non-finite logits .* so there is no score',
    stage: 'score',
  });
  await convertFile(at(overflow), { out: at('weights-folder/logits-overflow'), shardBytes: 64 * 1024 });
  cases.push({
    id: 'folder-logits-overflow',
    family: 'weights-folder',
    what: 'converted folder of finite weights whose logits overflow',
    file: 'weights-folder/logits-overflow',
    paths: { 'cli-score': 'the weights produce non-finite logits .* so there is no score' },
    stage: 'score',
  });

  const corpus: HostileCorpus = { good: { folder: good, checkpoint: 'good/checkpoint.pt' }, cases };
  writeFileSync(at('cases.json'), JSON.stringify(corpus, null, 1));
  return corpus;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: npm run hostile-corpus -- <out-dir>   (a new or empty folder)');
    process.exit(1);
  }
  makeHostileCorpus(path.resolve(out)).then(
    (c) => {
      for (const k of c.cases)
        console.log(`${k.family.padEnd(14)} ${k.id.padEnd(30)} ${Object.keys(k.paths).join(', ')}`);
      console.log(`wrote ${c.cases.length} cases to ${path.resolve(out)} (cases.json lists them)`);
    },
    (e: Error) => {
      console.error(`hostile-corpus: ${e.message}`);
      process.exit(1);
    },
  );
}
