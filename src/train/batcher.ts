import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../search/rng.js';

/** Mini-batches of a training set: one seeded shuffle per cycle, cut into consecutive chunks. */
export interface Batcher {
  /** The `index`-th batch of the order used in `cycle`. */
  next(cycle: number, index: number): [tf.Tensor, tf.Tensor];
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
  return {
    batchesPerPass,
    key: (cycle, index) => `${shuffle ? cycle : 0}/${index}`,
    next(cycle, index) {
      if (!shuffle) return [tf.slice(x, index * size, size), tf.slice(y, index * size, size)];
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
      return tf.tidy(() => {
        const idx = tf.tensor1d(perm.subarray(index * size, (index + 1) * size), 'int32');
        return [tf.gather(x, idx), tf.gather(y, idx)] as [tf.Tensor, tf.Tensor];
      });
    },
  };
}
