import type { RatConfig } from '../model/config';
import { MANIFEST_FORMAT, type RatManifest, type WeightGroup, sha256Hex } from '../model/manifest';
import { weightSpecs } from '../model/weights';
import { type Checkpoint, openCheckpoint } from './checkpoint';
import { float32ToFloat16Bits } from './float16';
import {
  type ConfigOverrides,
  LayoutError,
  inferConfig,
  keyMap,
  layoutProblems,
  stripModulePrefix,
  weightNormSpelling,
} from './keymap';

// Checkpoint -> the model's weights, one tensor at a time, in the order model.json lists them.
// Runs unchanged in Node (fs.openAsBlob) and in the browser (a File from a drop or a picker).

export const CONVERTER_VERSION = '1';

/** tfjs convention is 4 MB; most XLS-R matrices are 4 or 16 MB, so 16 MiB keeps each in one cacheable file. */
export const DEFAULT_SHARD_BYTES = 16 * 1024 * 1024;

export interface ConvertedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface PlannedConversion {
  format: Checkpoint['format'];
  config: RatConfig;
  /** Number of tensors tensors() will yield. */
  count: number;
  tensors(): AsyncGenerator<ConvertedTensor>;
}

/** Opens a checkpoint, infers its config and checks every key and shape before anything is converted. */
export async function planConversion(blob: Blob, overrides: ConfigOverrides = {}): Promise<PlannedConversion> {
  const ckpt = await openCheckpoint(blob);
  const tensors = stripModulePrefix(ckpt.tensors);
  const shapes = new Map([...tensors].map(([k, t]) => [k, t.shape]));
  const config = inferConfig(shapes, overrides);
  const rules = keyMap(config, weightNormSpelling(shapes));
  const problems = layoutProblems(rules, shapes);
  if (problems.length) {
    throw new LayoutError(
      `The checkpoint does not have the published RAT layout (${problems.length} problems):\n  ${problems.slice(0, 50).join('\n  ')}` +
        (problems.length > 50 ? `\n  ... and ${problems.length - 50} more` : ''),
    );
  }
  const byName = new Map(rules.map((r) => [r.ours, r]));
  const specs = weightSpecs(config);
  return {
    format: ckpt.format,
    config,
    count: specs.length,
    async *tensors() {
      for (const spec of specs) {
        const rule = byName.get(spec.name);
        if (!rule) throw new Error(`internal: no key rule for ${spec.name}`);
        const src = await Promise.all(
          rule.from.map(async (f) => ({ data: await tensors.get(f.key)!.read(), shape: f.shape })),
        );
        for (let i = 0; i < src.length; i++) {
          const bad = src[i].data.findIndex((v) => !Number.isFinite(v));
          if (bad >= 0)
            throw new LayoutError(
              `Checkpoint tensor ${rule.from[i].key} holds a non-finite value (${src[i].data[bad]} at element ${bad}); the weights are damaged.`,
            );
        }
        const data = rule.build(src);
        const n = spec.shape.reduce((a, b) => a * b, 1);
        if (data.length !== n) throw new Error(`internal: ${spec.name} built ${data.length} values, expected ${n}`);
        yield { name: spec.name, shape: spec.shape, data };
      }
    },
  };
}

/** Receives shard files as they are completed. */
export type ShardSink = (fileName: string, bytes: Uint8Array) => Promise<void>;

export interface WriteOptions {
  dtype?: 'float32' | 'float16';
  shardBytes?: number;
  onTensor?: (done: number, name: string) => void;
}

/** Packs tensors into shards of whole tensors (one weights group per shard), yielding each shard as soon as it is full. */
export async function* packShards(
  tensors: AsyncIterable<ConvertedTensor>,
  opts: WriteOptions = {},
): AsyncGenerator<{ group: WeightGroup; bytes: Uint8Array }> {
  const dtype = opts.dtype ?? 'float32';
  const limit = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  let count = 0;
  let parts: Uint8Array[] = [];
  let entries: WeightGroup['weights'] = [];
  let size = 0;
  const flush = async () => {
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const file = `shard-${String(++count).padStart(4, '0')}.bin`;
    const group: WeightGroup = { paths: [file], sha256: [await sha256Hex(bytes)], weights: entries };
    parts = [];
    entries = [];
    size = 0;
    return { group, bytes };
  };
  let done = 0;
  for await (const t of tensors) {
    const bits = dtype === 'float16' ? float32ToFloat16Bits(t.data) : t.data;
    const raw = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
    if (size > 0 && size + raw.length > limit) yield await flush();
    parts.push(raw);
    size += raw.length;
    entries.push({
      name: t.name,
      shape: t.shape,
      dtype: 'float32',
      ...(dtype === 'float16' ? { quantization: { dtype: 'float16' as const } } : {}),
    });
    opts.onTensor?.(++done, t.name);
  }
  if (parts.length) yield await flush();
}

/** Writes every shard through the sink and returns the weights manifest. */
export async function writeShards(
  tensors: AsyncIterable<ConvertedTensor>,
  sink: ShardSink,
  opts: WriteOptions = {},
): Promise<WeightGroup[]> {
  const groups: WeightGroup[] = [];
  for await (const { group, bytes } of packShards(tensors, opts)) {
    await sink(group.paths[0], bytes);
    groups.push(group);
  }
  return groups;
}

export interface ManifestInfo {
  label: string;
  demo: boolean;
  dtype: 'float32' | 'float16';
  source: RatManifest['source'];
}

export function buildManifest(config: RatConfig, groups: WeightGroup[], info: ManifestInfo): RatManifest {
  return {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    label: info.label,
    demo: info.demo,
    config,
    dtype: info.dtype,
    source: info.source,
    converter: { version: CONVERTER_VERSION },
    weightsManifest: groups,
  };
}
