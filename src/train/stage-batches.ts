import * as tf from '@tensorflow/tfjs-core';
import { shardRange } from '../engine/shard-pool.js';
import type { StageSource } from '../engine/model-evaluator.js';
import type { Batcher } from './batcher.js';

/** The stages of one batch for one shard, gathered when first asked; `dispose` frees what was gathered. */
export interface StageBatches extends StageSource {
  dispose(): void;
}

/**
 * The stages of batch `index` of `cycle` for shard `rank` of `size`: a stage of n rows is the batch's first n
 * rows, of which this shard takes its part (`shardRange(n, rank, size)`), so the stage holds the same examples
 * whatever the number of threads.
 */
export function stageBatches(batcher: Batcher, cycle: number, index: number, rank: number, size: number): StageBatches {
  const made: tf.Tensor[] = [];
  return {
    rows: batcher.rows(cycle, index),
    gather(rows) {
      const [start, count] = shardRange(rows, rank, size);
      const b = batcher.next(cycle, index, start, count);
      made.push(...b.xs, ...b.ys);
      return b;
    },
    dispose: () => tf.dispose(made),
  };
}
