import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { type WeightGroup, entryBytes } from './manifest';
import { splitHeadValues, splitsPerHead } from './head-split';

// tf.io.decodeWeights copies every weight out of the shard before the backend copies it again into
// its own memory; a float32 weight at an aligned offset is handed to the backend as a view of the
// shard instead, so its bytes are copied once. Backends that keep the values they are given (cpu,
// webgpu until the upload) keep the shard alive through the view; nothing writes to a shard's bytes
// once they are handed here.

/** Splits the encoder's query/key/value projections per head as they are made (src/model/head-split.ts). */
export interface HeadSplit {
  numLayers: number;
  heads: number;
  /**
   * The backend copies a tensor's values as it is made (wasm): every head's weight is then split
   * into one scratch array, where new arrays would each be new memory to map (default false).
   */
  reuseScratch?: boolean;
}

/** A shard's weights as tensors by name; with `split`, the projections it names come per head. */
export function shardTensors(bytes: ArrayBuffer, group: WeightGroup, split?: HeadSplit): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let offset = 0;
  let scratch: Float32Array | undefined;
  try {
    for (const entry of group.weights) {
      const at = offset;
      const byteLength = entryBytes(entry);
      offset += byteLength;
      const heads = split && splitsPerHead(entry.name, entry.shape, split.numLayers, split.heads) ? split.heads : 0;
      let values: Float32Array;
      if (!entry.quantization && at % 4 === 0) values = new Float32Array(bytes, at, byteLength / 4);
      else {
        // float16 storage (dequantised by tfjs) or an unaligned offset: tfjs's own decoder
        const t = tf.io.decodeWeights(bytes.slice(at, at + byteLength), [entry])[entry.name];
        if (!heads) {
          out[entry.name] = t;
          continue;
        }
        values = t.dataSync() as Float32Array;
        t.dispose();
      }
      if (heads && split?.reuseScratch && entry.shape.length === 2 && (scratch?.length ?? 0) < values.length / heads)
        scratch = new Float32Array(values.length / heads);
      const parts = heads
        ? splitHeadValues(entry.name, values, entry.shape, heads, split?.reuseScratch ? scratch : undefined)
        : [{ name: entry.name, values, shape: entry.shape }];
      for (const p of parts) out[p.name] = tf.tensor(p.values, p.shape, 'float32');
    }
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  }
  return out;
}
