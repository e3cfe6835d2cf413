import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { WeightGroup } from './manifest';
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
}

/** A shard's weights as tensors by name; with `split`, the projections it names come per head. */
export function shardTensors(bytes: ArrayBuffer, group: WeightGroup, split?: HeadSplit): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let offset = 0;
  try {
    for (const entry of group.weights) {
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const byteLength = size * (entry.quantization ? 2 : 4);
      const heads = split && splitsPerHead(entry.name, entry.shape, split.numLayers, split.heads) ? split.heads : 0;
      if (!entry.quantization && offset % 4 === 0) {
        const values = new Float32Array(bytes, offset, size);
        if (heads)
          for (const h of splitHeadValues(entry.name, values, entry.shape, heads))
            out[h.name] = tf.tensor(h.values, h.shape, 'float32');
        else out[entry.name] = tf.tensor(values, entry.shape, 'float32');
      } else {
        // float16 storage (dequantised by tfjs) or an unaligned offset: tfjs's own decoder
        const t = tf.io.decodeWeights(bytes.slice(offset, offset + byteLength), [entry])[entry.name];
        if (heads) {
          const values = t.dataSync() as Float32Array;
          t.dispose();
          for (const h of splitHeadValues(entry.name, values, entry.shape, heads))
            out[h.name] = tf.tensor(h.values, h.shape, 'float32');
        } else out[entry.name] = t;
      }
      offset += byteLength;
    }
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  }
  return out;
}
