import {
  BlobReader,
  ERR_UNSAFE_FILENAME,
  type FileEntry,
  Uint8ArrayWriter,
  ZipReader,
  configure,
} from '@zip.js/zip.js';
import { float16ToFloat32 } from './float16';
import { PickleError, type StorageRef, type TensorRef, type TorchDtype, unpickle } from './pickle';

// Opens a checkpoint (PyTorch zip archive or .safetensors) held in a Blob: a File in the browser, a
// file-backed Blob from fs.openAsBlob in Node. Only the central directory, the pickle and the header
// are read up front; tensor bytes are read one tensor at a time with Blob.slice, so a full-size
// checkpoint is never held in memory.

configure({ useWebWorkers: false });

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** One tensor of a checkpoint: its shape, and its values on demand as float32. */
export interface CheckpointTensor {
  dtype: TorchDtype;
  shape: number[];
  read(): Promise<Float32Array>;
}

export interface Checkpoint {
  format: 'pytorch-zip' | 'safetensors';
  tensors: Map<string, CheckpointTensor>;
}

const ITEM_BYTES: Record<TorchDtype, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Little-endian raw values of a dtype -> float32. */
function toFloat32(dtype: TorchDtype, raw: Uint8Array): Float32Array {
  const buf = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const n = buf.byteLength / ITEM_BYTES[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    case 'float16':
      return float16ToFloat32(new Uint16Array(buf.buffer, buf.byteOffset, n));
    case 'bfloat16': {
      const src = new Uint16Array(buf.buffer, buf.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'float64':
      return Float32Array.from(new Float64Array(buf.buffer, buf.byteOffset, n));
    case 'int64':
      return Float32Array.from(new BigInt64Array(buf.buffer, buf.byteOffset, n), (v) => Number(v));
    case 'int32':
      return Float32Array.from(new Int32Array(buf.buffer, buf.byteOffset, n));
    case 'int16':
      return Float32Array.from(new Int16Array(buf.buffer, buf.byteOffset, n));
    case 'int8':
      return Float32Array.from(new Int8Array(buf.buffer, buf.byteOffset, n));
    case 'uint8':
    case 'bool':
      return Float32Array.from(buf);
  }
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Copies a strided view into a dense row-major array (rare in a state_dict, but legal). */
function gather(src: Float32Array, offset: number, shape: number[], stride: number[]): Float32Array {
  const out = new Float32Array(numel(shape));
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += idx[d] * stride[d];
    out[i] = src[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

async function readBlob(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

// --- PyTorch zip archive -----------------------------------------------------------------------------

async function openTorchZip(blob: Blob): Promise<Checkpoint> {
  const reader = new ZipReader(new BlobReader(blob));
  let entries: FileEntry[];
  try {
    entries = (await reader.getEntries()).filter((e): e is FileEntry => !e.directory);
  } catch (e) {
    // zip.js refuses a name with a ".." part or a leading "/" by itself; it is hostile, not truncated
    if ((e as Error).message === ERR_UNSAFE_FILENAME)
      throw new CheckpointError(
        `Archive entry ${JSON.stringify((e as { filename?: string }).filename)} is named outside the archive's folder (a ".." part or a leading "/"); torch.save never writes such a name, so the checkpoint is refused. Re-save it with torch.save.`,
      );
    throw new CheckpointError(
      `The file is not a readable PyTorch checkpoint archive (${(e as Error).message}). ` +
        'It may be truncated (an interrupted download?) or not a torch.save file at all.',
    );
  }
  // two entries of one name are read differently by different readers (PyTorch takes the first)
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.filename))
      throw new CheckpointError(
        `The archive holds two entries named ${e.filename}: readers disagree on which one is meant, so the checkpoint is refused. Re-save it with torch.save.`,
      );
    names.add(e.filename);
  }
  const pkl = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.filename));
  if (pkl.length !== 1)
    throw new CheckpointError(
      `The archive holds ${pkl.length} <root>/data.pkl records; a torch.save checkpoint holds exactly one.`,
    );
  const root = pkl[0].filename.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.filename, e]));
  for (const e of entries) {
    if (e.compressionMethod !== 0) {
      throw new CheckpointError(
        `Archive entry ${e.filename} is compressed (method ${e.compressionMethod}); torch.save stores every entry uncompressed. Re-save the checkpoint with torch.save.`,
      );
    }
    if (e.encrypted) throw new CheckpointError(`Archive entry ${e.filename} is encrypted.`);
    // a size read from the central directory alone; refused here rather than when the tensor is read
    if (e.offset + e.compressedSize > blob.size)
      throw new CheckpointError(
        `Archive entry ${e.filename} declares ${e.compressedSize} bytes at offset ${e.offset}, past the end of the ${blob.size}-byte file: the checkpoint is truncated or hostile.`,
      );
  }
  const byteorder = byName.get(`${root}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await entryBytes(byteorder)).trim();
    if (order !== 'little')
      throw new CheckpointError(
        `The checkpoint was saved on a ${order}-endian machine; only little-endian checkpoints are supported.`,
      );
  }
  let state: unknown;
  try {
    state = unpickle(await entryBytes(pkl[0]));
  } catch (e) {
    if (e instanceof PickleError) throw new CheckpointError(`Refused the checkpoint's pickle: ${e.message}`);
    throw e;
  }
  if (!(state instanceof Map))
    throw new CheckpointError(
      'The checkpoint does not hold a state_dict (a dict of tensors). Save it with torch.save(model.state_dict()).',
    );

  const tensors = new Map<string, CheckpointTensor>();
  const storageCache = new Map<string, FileEntry>();
  for (const [key, value] of state) {
    if (typeof key !== 'string') continue;
    const t = value as TensorRef;
    if (!t || t.kind !== 'tensor') continue; // plain values beside the tensors are ignored
    const s: StorageRef = t.storage;
    let entry = storageCache.get(s.key);
    if (!entry) {
      entry = byName.get(`${root}data/${s.key}`);
      if (!entry)
        throw new CheckpointError(
          `Tensor ${key} needs storage ${root}data/${s.key}, which the archive does not hold: the checkpoint is incomplete.`,
        );
      storageCache.set(s.key, entry);
    }
    const item = ITEM_BYTES[s.dtype];
    if (entry.uncompressedSize !== s.numel * item) {
      throw new CheckpointError(
        `Storage ${s.key} of tensor ${key} has ${entry.uncompressedSize} bytes; ${s.numel} ${s.dtype} values need ${s.numel * item}.`,
      );
    }
    const values = numel(t.shape);
    // only a stride-0 (expanded) view could hold more values than its storage; no state_dict weight is one, and
    // accepting it would let a few bytes declare a tensor of any size
    if (!Number.isSafeInteger(values) || values > s.numel) {
      throw new CheckpointError(
        `Tensor ${key} declares shape [${t.shape}] (${values} values), more values than its storage ${s.key} holds (${s.numel}): the checkpoint is damaged or hostile.`,
      );
    }
    let maxIndex = t.offset;
    t.shape.forEach((d, i) => {
      if (d > 0) maxIndex += (d - 1) * t.stride[i];
    });
    if (numel(t.shape) > 0 && maxIndex >= s.numel)
      throw new CheckpointError(`Tensor ${key} reads past the end of its storage ${s.key}.`);
    const storageEntry = entry;
    tensors.set(key, {
      dtype: s.dtype,
      shape: t.shape,
      async read() {
        const dense = contiguousStrides(t.shape).every((v, i) => t.shape[i] <= 1 || v === t.stride[i]);
        const n = numel(t.shape);
        const raw = await entryBytes(storageEntry);
        if (dense) return toFloat32(s.dtype, raw.subarray(t.offset * item, (t.offset + n) * item));
        return gather(toFloat32(s.dtype, raw), t.offset, t.shape, t.stride);
      },
    });
  }
  return { format: 'pytorch-zip', tensors };

  async function entryBytes(e: FileEntry): Promise<Uint8Array> {
    try {
      return await e.getData(new Uint8ArrayWriter(), { checkCrc32: true });
    } catch (err) {
      throw new CheckpointError(
        `Archive entry ${e.filename} could not be read (${(err as Error).message}): the checkpoint is truncated or corrupted.`,
      );
    }
  }
}

// --- safetensors -------------------------------------------------------------------------------------

const ST_DTYPES: Record<string, TorchDtype> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

async function openSafetensors(blob: Blob): Promise<Checkpoint> {
  if (blob.size < 8) throw new CheckpointError('The file is too short to be a safetensors file.');
  const lenBytes = await readBlob(blob, 0, 8);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen > 100_000_000 || 8 + headerLen > blob.size) {
    throw new CheckpointError(
      `The safetensors header claims ${headerLen} bytes, but the file has ${blob.size}: it is truncated or not a safetensors file.`,
    );
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readBlob(blob, 8, 8 + headerLen)));
  } catch {
    throw new CheckpointError('The safetensors header is not valid JSON.');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new CheckpointError('The safetensors header is not a JSON object of tensors.');
  const base = 8 + headerLen;
  const tensors = new Map<string, CheckpointTensor>();
  const spans: { key: string; begin: number; end: number }[] = [];
  for (const [key, info] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const dtype = Object.hasOwn(ST_DTYPES, String(info?.dtype)) ? ST_DTYPES[info.dtype] : undefined;
    if (!dtype) throw new CheckpointError(`Tensor ${key} has unsupported safetensors dtype ${info?.dtype}.`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new CheckpointError(`Tensor ${key} has an invalid shape.`);
    const [begin, end] = (Array.isArray(info.data_offsets) ? info.data_offsets : []) as number[];
    if (
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      begin < 0 ||
      end < begin ||
      base + end > blob.size
    ) {
      throw new CheckpointError(
        `Tensor ${key} lies outside the file (offsets ${info.data_offsets}, file ${blob.size} bytes): the file is truncated.`,
      );
    }
    if (end - begin !== numel(shape) * ITEM_BYTES[dtype])
      throw new CheckpointError(`Tensor ${key}: ${end - begin} bytes do not hold shape [${shape}] of ${dtype}.`);
    spans.push({ key, begin, end });
    tensors.set(key, {
      dtype,
      shape,
      read: async () => toFloat32(dtype, await readBlob(blob, base + begin, base + end)),
    });
  }
  // bytes shared by two tensors would be read as both: safetensors lays tensors side by side
  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    const [a, b] = [spans[i - 1], spans[i]];
    if (b.begin < a.end && b.end > b.begin) {
      throw new CheckpointError(
        `Tensors ${a.key} and ${b.key} overlap in the file (bytes ${a.begin}-${a.end} and ${b.begin}-${b.end}): a safetensors file lays tensors side by side, so it is refused.`,
      );
    }
  }
  return { format: 'safetensors', tensors };
}

/** Opens a checkpoint by its content: a zip archive (PK signature) or safetensors. */
export async function openCheckpoint(blob: Blob): Promise<Checkpoint> {
  const head = await readBlob(blob, 0, 4);
  if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) return openTorchZip(blob);
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
    throw new CheckpointError(
      'This is a legacy (pre-1.6, non-zip) torch.save file. Re-save it with a current PyTorch: torch.save(torch.load(f), f2).',
    );
  }
  if (blob.size >= 9) {
    const brace = await readBlob(blob, 8, 9);
    if (brace[0] === 0x7b) return openSafetensors(blob);
  }
  throw new CheckpointError('The file is neither a PyTorch checkpoint (.pt/.pth zip archive) nor a .safetensors file.');
}
