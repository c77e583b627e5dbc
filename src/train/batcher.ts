import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../search/rng.js';

/** Mini-batches of a training set: one seeded shuffle per cycle, cut into consecutive chunks. */
export interface Batcher {
  /** The `index`-th batch of the order used in `cycle`, or its rows [start, start + count) (one thread's shard). */
  next(cycle: number, index: number, start?: number, count?: number): [tf.Tensor, tf.Tensor];
  /** A key equal for equal batch contents. */
  key(cycle: number, index: number): string;
  readonly batchesPerPass: number;
}

/** Creates the batcher of {@link fitRSO}; the worker threads of the sharded engine build the same one. */
export function makeBatcher(x: tf.Tensor, y: tf.Tensor, batchSize: number, shuffle: boolean, seed: number): Batcher {
  const n = x.shape[0]!;
  const size = Math.min(batchSize, n);
  const batchesPerPass = Math.floor(n / size);
  let permCycle = -1; // the cycle whose permutation is in perm
  let perm = new Int32Array(0);
  // Shuffled batches are gathered on the host: on wasm a 1000-row tf.gather of MNIST takes ~25 ms, a host copy ~1 ms.
  let hostX: tf.TypedArray | null = null;
  let hostY: tf.TypedArray | null = null;
  const rows = (data: tf.TypedArray, t: tf.Tensor, at: Int32Array): tf.Tensor => {
    const width = t.size / n;
    const Ctor = data.constructor as new (length: number) => tf.TypedArray;
    const out = new Ctor(at.length * width);
    for (let r = 0; r < at.length; r++) out.set(data.subarray(at[r]! * width, (at[r]! + 1) * width), r * width);
    return tf.tensor(out, [at.length, ...t.shape.slice(1)], t.dtype);
  };
  return {
    batchesPerPass,
    key: (cycle, index) => `${shuffle ? cycle : 0}/${index}`,
    next(cycle, index, start = 0, count = size) {
      if (!shuffle) return [tf.slice(x, index * size + start, count), tf.slice(y, index * size + start, count)];
      if (permCycle !== cycle) {
        // One reproducible shuffle per cycle (as the authors' script), derived from (seed, cycle). Batches are
        // consecutive chunks of it, so a cached chunk stays valid for a whole layer.
        const rng = createRng(`${seed}/shuffle/${cycle}`);
        perm = Int32Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        permCycle = cycle;
      }
      hostX ??= x.dataSync();
      hostY ??= y.dataSync();
      const at = perm.subarray(index * size + start, index * size + start + count);
      return [rows(hostX, x, at), rows(hostY, y, at)];
    },
  };
}
