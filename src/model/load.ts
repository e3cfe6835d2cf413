import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { type DerivedSizes, type RatConfig, SAMPLE_RATE, deriveSizes } from './config';
import { firstNonFinite } from './finite';
import { type RatManifest, type WeightGroup, groupBytes, groupValueBytes, sha256Hex } from './manifest';
import {
  type ForwardOptions,
  NonFiniteLogitsError,
  type PreparedReference,
  type RatScore,
  forward,
  prepareReference,
  zeroReferenceAttention,
} from './rat';
import { type RatWeights, assembleWeights, weightTensors } from './weights';
import { canReleasePacked, packAndRelease, packConvsAndRelease } from './wasm-packing';
import { shardTensors } from './shard-tensors';
import { HeapPrefault, type PagerJob, type PrefaultStats } from './heap-prefault';
import { wasmSharedHeap, webgpuAdapterIsSoftware, webgpuProgramsMatch } from './tfjs-internals';
import {
  forwardGpu,
  gpuWeightTensors,
  gpuWeights,
  prepareReferenceGpu,
  wholePositionalFilters,
} from './webgpu/forward';

/** Where weights come from: the parsed manifest and a way to read one shard (files in Node, fetch in the browser). */
export interface WeightSource {
  manifest: RatManifest;
  /** One shard's bytes; `expectedBytes` (what the manifest lists) lets a source refuse a wrong file before reading it. */
  readShard(path: string, expectedBytes: number): Promise<ArrayBuffer>;
}

export interface LoadProgress {
  loadedBytes: number;
  totalBytes: number;
}

export interface LoadOptions {
  /** Score silence after loading so kernels are compiled before the first real score: 0.25 s, or on the GPU pass on a hardware adapter 4 s with and without a reference (default true). */
  warmup?: boolean;
  /** Called when the weights are in and the warm-up run starts. */
  onWarmup?: () => void;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** On the wasm backend, keep only XNNPACK's packed copy of each linear and conv layer's weights (default true; halves memory). */
  releasePacked?: boolean;
  /** Split the encoder's query/key/value projections per head at load (default: on the wasm backend, where splitting activations is slow). */
  splitHeads?: boolean;
  /**
   * On the webgpu backend, run the GPU-shaped pass with its custom kernels (default true). False, or
   * a tfjs release other than the one they were checked against, runs the generic op-by-op pass.
   */
  gpuKernels?: boolean;
  /**
   * Starts a thread that runs heap-prefault's mapChunks on the job: on tfjs-wasm with a shared heap
   * (threads) and releasePacked, the heap the weights need is then mapped there, ahead of the load
   * (default none: pages are mapped as the load first writes them).
   */
  pager?: (job: PagerJob) => void;
}

/**
 * Where a load's time goes: waiting for shard bytes (reads not hidden behind the work on earlier
 * shards), checking them, heap pages not mapped ahead, making tensors, XNNPACK packing (wasm),
 * building the weight record and the warm-up score.
 */
export interface LoadTimings {
  read: number;
  check: number;
  /** Waiting for, or mapping, heap pages the pager had not mapped yet (LoadOptions.pager). */
  fault: number;
  upload: number;
  pack: number;
  assemble: number;
  warmup: number;
}

/** A loaded RAT detector on the current tfjs backend. */
export interface RatModel {
  readonly config: RatConfig;
  readonly sizes: DerivedSizes;
  readonly manifest: RatManifest;
  /** Bytes of weight values handed back once XNNPACK packed its own copy (wasm, releasePacked; otherwise 0). */
  readonly releasedBytes: number;
  /** Heap bytes mapped ahead of the load by the pager, and by the load itself where the pager was behind (null: no pager ran). */
  readonly prefault: PrefaultStats | null;
  /** Which forward pass scores: 'gpu' (custom WebGPU kernels) or 'generic' (tfjs ops, every backend). */
  readonly pass: 'gpu' | 'generic';
  /** Milliseconds the load spent in each phase (the benchmark prints them). */
  readonly loadTimings: LoadTimings;
  /** Scores a mono 16 kHz clip; the reference defaults to the zero vector. */
  score(wave: Float32Array, opts?: ForwardOptions): Promise<RatScore>;
  /** Runs the encoder on a reference clip once, so many test clips can reuse it. */
  prepareReference(
    wave: Float32Array,
    opts?: Pick<ForwardOptions, 'signal' | 'onProgress' | 'referenceLayout'>,
  ): Promise<PreparedReference>;
  dispose(): void;
}

export class ShardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardError';
  }
}

/** A shard of another size than its manifest lists; sources that know a file's size refuse it before reading it. */
export function shardSizeError(path: string, bytes: number, expected: number): ShardError {
  return new ShardError(
    `Weight shard ${path} has ${bytes} bytes, the manifest expects ${expected}: the file is ${bytes < expected ? 'truncated' : 'not the one the manifest lists'}. Re-copy or re-convert the weights folder.`,
  );
}

/** Refuses a shard whose SHA-256 is not the manifest's, or that holds a non-finite value. */
export async function checkShard(group: WeightGroup, bytes: ArrayBuffer): Promise<void> {
  const path = group.paths[0];
  const digest = await sha256Hex(bytes);
  if (digest !== group.sha256[0]) {
    throw new ShardError(
      `Weight shard ${path} is corrupted: its SHA-256 is ${digest}, the manifest lists ${group.sha256[0]}. Re-copy or re-convert the weights folder.`,
    );
  }
  const bad = firstNonFinite(bytes, group);
  if (bad)
    throw new ShardError(
      `Weight shard ${path} holds a non-finite value in ${bad}: the weights are damaged and would give meaningless scores. Re-convert the weights folder from its checkpoint.`,
    );
}

/** A shard's bytes with the group that describes them; `trusted` skips checkShard (bytes made in this process, or checked before they were cached). */
export interface ShardBytes {
  group: WeightGroup;
  bytes: ArrayBuffer;
  trusted?: boolean;
  /** Called once no tensor reads `bytes` any more, so the source may read its next shard into them. */
  recycle?: () => void;
}

/** Shards' worth of heap a prefaulted load maps beyond the weights' values (see loadFromShards). */
const SLACK_SHARDS = 4;

/**
 * The most heap a load reserves ahead (2 GiB, above the full-size model's 1.4 GB): a manifest is a
 * stranger's claim until its shards arrive, and the heap, once grown, does not shrink.
 */
const MAX_PREFAULT = 2 ** 31;

/** Reads each shard of a weights folder in manifest order. */
async function* readShards(source: WeightSource): AsyncGenerator<ShardBytes> {
  for (const group of source.manifest.weightsManifest)
    yield { group, bytes: await source.readShard(group.paths[0], groupBytes(group)) };
}

/** Reads, verifies and uploads each shard in turn; only one shard's bytes are held at a time. */
export function loadRatModel(source: WeightSource, opts: LoadOptions = {}): Promise<RatModel> {
  const totalBytes = source.manifest.weightsManifest.reduce((n, g) => n + groupBytes(g), 0);
  return loadFromShards(source.manifest, totalBytes, readShards(source), opts);
}

/** Builds the model from a stream of shards (a folder, a download, or a checkpoint converted on the fly). */
export async function loadFromShards(
  manifest: RatManifest,
  totalBytes: number,
  shards: AsyncIterable<ShardBytes>,
  opts: LoadOptions = {},
): Promise<RatModel> {
  const config = manifest.config;
  const sizes = deriveSizes(config);
  const named: Record<string, Tensor> = {};
  const release = (opts.releasePacked ?? true) && canReleasePacked();
  const packed = new Set<string>();
  const gpu = (opts.gpuKernels ?? true) && webgpuProgramsMatch();
  const split = !gpu && (opts.splitHeads ?? tf.getBackend() === 'wasm');
  const copiesOnWrite = tf.getBackend() === 'wasm';
  let loadedBytes = 0;
  let releasedBytes = 0;
  const timings: LoadTimings = { read: 0, check: 0, fault: 0, upload: 0, pack: 0, assemble: 0, warmup: 0 };
  // the heap the weights will take as float32 values (packed copies, biases included), with room
  // for shards' values in flight and the allocator's slack: a few shards' worth (SLACK_SHARDS),
  // which each shard also asks for ahead of what it needs, so the allocator finds room in mapped
  // chunks rather than past them
  const sharedHeap = release && opts.pager ? wasmSharedHeap() : null;
  const valueBytes = manifest.weightsManifest.map(groupValueBytes);
  const prefault = sharedHeap
    ? HeapPrefault.start(
        sharedHeap,
        Math.min(MAX_PREFAULT, valueBytes.reduce((a, b) => a + b, 0) + SLACK_SHARDS * Math.max(0, ...valueBytes)),
        opts.pager!,
      )
    : null;
  let prefaultStats: PrefaultStats | null = null;
  let needed = 0;
  let t = performance.now();
  /** Adds the time since the last lap to `phase`. */
  const lap = (phase: keyof LoadTimings) => {
    const now = performance.now();
    timings[phase] += now - t;
    t = now;
  };
  try {
    for await (const { group, bytes, trusted, recycle } of shards) {
      lap('read');
      opts.signal?.throwIfAborted();
      const path = group.paths[0];
      const expected = groupBytes(group);
      if (bytes.byteLength !== expected) throw shardSizeError(path, bytes.byteLength, expected);
      if (!trusted) await checkShard(group, bytes);
      lap('check');
      if (prefault) {
        const shard = groupValueBytes(group);
        needed += shard;
        prefault.release(needed + SLACK_SHARDS * shard);
        lap('fault');
      }
      Object.assign(
        named,
        shardTensors(
          bytes,
          group,
          split ? { numLayers: config.numLayers, heads: config.numHeads, reuseScratch: copiesOnWrite } : undefined,
        ),
      );
      // wasm copies each tensor's values into its heap as the tensor is made; cpu and webgpu keep
      // a reference to them (webgpu until the first upload), so their shards are not reused
      if (copiesOnWrite) recycle?.();
      lap('upload');
      if (release) releasedBytes += packAndRelease(named, packed);
      lap('pack');
      loadedBytes += expected;
      opts.onProgress?.({ loadedBytes, totalBytes });
    }
  } catch (e) {
    tf.dispose(Object.values(named));
    throw e;
  } finally {
    prefaultStats = prefault?.finish() ?? null;
  }
  let weights: RatWeights;
  let zeroAttn: Tensor2D;
  try {
    weights = assembleWeights(config, named);
  } catch (e) {
    tf.dispose(Object.values(named));
    throw e;
  }
  try {
    zeroAttn = zeroReferenceAttention(weights);
    lap('assemble');
    if (release) releasedBytes += packConvsAndRelease(weights, config);
    lap('pack');
  } catch (e) {
    tf.dispose(weightTensors(weights));
    throw e;
  }
  let model: RatModel;
  if (gpu) {
    const gw = gpuWeights(weights, wholePositionalFilters(weights.pos.filters), zeroAttn);
    model = {
      config,
      sizes,
      manifest,
      releasedBytes,
      prefault: prefaultStats,
      pass: 'gpu',
      loadTimings: timings,
      score: (wave, o) => forwardGpu(gw, config, sizes, wave, o),
      prepareReference: (wave, o) => prepareReferenceGpu(gw, config, sizes, wave, o),
      dispose() {
        tf.dispose(gpuWeightTensors(gw));
      },
    };
  } else {
    model = {
      config,
      sizes,
      manifest,
      releasedBytes,
      prefault: prefaultStats,
      pass: 'generic',
      loadTimings: timings,
      score: (wave, o) => forward(weights, config, sizes, zeroAttn, wave, o),
      prepareReference: (wave, o) => prepareReference(weights, config, sizes, wave, o),
      dispose() {
        tf.dispose([...weightTensors(weights), zeroAttn]);
      },
    };
  }
  const signal = opts.signal;
  if (opts.warmup ?? true) {
    opts.onWarmup?.();
    try {
      if (gpu && !webgpuAdapterIsSoftware()) {
        // a GPU compiles a pipeline per kernel variant, and tfjs picks matmul variants by shape: a
        // typical 4 s clip with each kind of reference compiles what the first real score needs
        // (on a software adapter, where each pass costs seconds, the 1 s clip below instead)
        const ref = await model.prepareReference(new Float32Array(SAMPLE_RATE), { signal });
        try {
          await model.score(new Float32Array(4 * SAMPLE_RATE), { signal });
          await model.score(new Float32Array(4 * SAMPLE_RATE), { reference: ref, signal });
        } finally {
          ref.dispose();
        }
      } else {
        // elsewhere nothing is compiled per shape (and wasm packed every layer while loading): a
        // quarter second runs each operator once, at a fraction of a longer clip's cost
        await model.score(new Float32Array(SAMPLE_RATE / 4), { signal });
      }
      // a load cancelled during the warm-up is cancelled: the caller keeps the weights it had
      signal?.throwIfAborted();
      lap('warmup');
    } catch (e) {
      // weights that overflow the logits are refused clip by clip, where the message reaches the user
      if (!(e instanceof NonFiniteLogitsError) || signal?.aborted) {
        model.dispose();
        throw e;
      }
    }
  }
  return model;
}
