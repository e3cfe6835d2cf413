// Hand-built pickles and torch.save archives for the fuzz tests: the same opcodes torch.save
// (protocol 2) writes, so mutations start from something the readers accept.

import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

const enc = new TextEncoder();

/** Little-endian u32. */
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export const op = {
  proto: (v = 2) => [0x80, v],
  global: (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  stackGlobal: (module: string, name: string) => [...op.str(module), ...op.str(name), 0x93],
  str: (s: string) => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number) =>
    n >= 0 && n < 256 ? [0x4b, n] : n >= 0 && n < 65536 ? [0x4d, n & 0xff, n >> 8] : [0x4a, ...u32(n)],
  /** LONG1 with 8 bytes: values up to 2^63 (refused by the reader, which keeps to safe integers). */
  long8: (n: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, n, true);
    return [0x8a, 8, ...b];
  },
  long: (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
    return [0x8a, 7, ...b.subarray(0, 7)];
  },
  mark: () => [0x28],
  tuple: () => [0x74],
  emptyTuple: () => [0x29],
  emptyDict: () => [0x7d],
  emptyList: () => [0x5d],
  reduce: () => [0x52],
  binpersid: () => [0x51],
  setitems: () => [0x75],
  append: () => [0x61],
  appends: () => [0x65],
  binput: (i: number) => [0x71, i],
  longBinput: (i: number) => [0x72, ...u32(i)],
  binget: (i: number) => [0x68, i],
  longBinget: (i: number) => [0x6a, ...u32(i)],
  newfalse: () => [0x89],
  stop: () => [0x2e],
};

export interface FakeTensor {
  key: string;
  storage: string;
  storageType?: string;
  /** Elements the storage reference claims. */
  numel: number;
  offset?: number;
  shape: number[];
  stride?: number[];
}

function contiguous(shape: number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

const dims = (xs: number[]) => [
  0x28,
  ...xs.flatMap((x) => (Number.isSafeInteger(x) && x < 2 ** 31 ? op.int(x) : op.long(x))),
  0x74,
];

/** A state_dict pickle, laid out as torch.save writes it. */
export function stateDictPickle(tensors: FakeTensor[]): Uint8Array {
  const out: number[] = [
    ...op.proto(2),
    ...op.global('collections', 'OrderedDict'),
    ...op.emptyTuple(),
    ...op.reduce(),
    ...op.mark(),
  ];
  for (const t of tensors) {
    out.push(...op.str(t.key), ...op.global('torch._utils', '_rebuild_tensor_v2'), ...op.mark());
    out.push(
      ...op.mark(),
      ...op.str('storage'),
      ...op.global('torch', t.storageType ?? 'FloatStorage'),
      ...op.str(t.storage),
      ...op.str('cpu'),
    );
    out.push(
      ...(Number.isSafeInteger(t.numel) && t.numel < 2 ** 31 ? op.int(t.numel) : op.long(t.numel)),
      ...op.tuple(),
      ...op.binpersid(),
    );
    out.push(
      ...dims([t.offset ?? 0]).slice(1, -1),
      ...dims(t.shape),
      ...dims(t.stride ?? contiguous(t.shape)),
      ...op.newfalse(),
    );
    out.push(
      ...op.global('collections', 'OrderedDict'),
      ...op.emptyTuple(),
      ...op.reduce(),
      ...op.tuple(),
      ...op.reduce(),
    );
  }
  out.push(...op.setitems(), ...op.stop());
  return new Uint8Array(out);
}

/** A stored (uncompressed) zip archive as torch.save writes it: <root>/data.pkl, <root>/data/<key>, version, byteorder. */
export async function torchZip(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  root = 'archive',
): Promise<Uint8Array> {
  const w = new ZipWriter(new Uint8ArrayWriter(), { level: 0 });
  await w.add(`${root}/data.pkl`, new Uint8ArrayReader(pickle));
  await w.add(`${root}/byteorder`, new Uint8ArrayReader(enc.encode('little')));
  for (const [k, v] of Object.entries(storages)) await w.add(`${root}/data/${k}`, new Uint8ArrayReader(v));
  await w.add(`${root}/version`, new Uint8ArrayReader(enc.encode('3\n')));
  return w.close();
}
