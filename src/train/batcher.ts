import * as tf from '@tensorflow/tfjs-core';
import type { Schedule } from '../policies/schedules/index.js';
import { createRng } from '../base/rng.js';
import { gatherRows } from './fit-data.js';

/** One mini-batch (or one thread's shard of it), in the model's input and output order. */
export interface Batch {
  readonly xs: tf.Tensor[];
  readonly ys: tf.Tensor[];
}

/**
 * Mini-batches of a training set: one seeded shuffle per cycle, cut into consecutive chunks of the cycle's batch
 * size.
 */
export interface Batcher {
  /** The `index`-th batch of the order used in `cycle`, or its rows [start, start + count) (one thread's shard). */
  next(cycle: number, index: number, start?: number, count?: number): Batch;
  /** A key equal for equal batch contents. */
  key(cycle: number, index: number): string;
  /** Examples in the `index`-th batch of `cycle`: the batch size, except the last batch of a pass, which holds the rest. */
  rows(cycle: number, index: number): number;
  /** Batches per pass over the data in `cycle`: every example is in one of them. */
  batchesPerPass(cycle: number): number;
  /** The batch size of `cycle` (at most the number of examples). */
  size(cycle: number): number;
}

/**
 * The batch size of each cycle from a schedule: rounded, at most `n`.
 *
 * @throws RangeError when the schedule gives something other than a number ≥ 1.
 */
export function batchSizes(schedule: Schedule, horizon: number, n: number): (cycle: number) => number {
  // The batcher asks several times per batch; the schedule runs once per cycle.
  let lastCycle = -1;
  let lastSize = 0;
  return (cycle) => {
    if (cycle === lastCycle) return lastSize;
    const raw = schedule(cycle, horizon);
    const size = Math.round(raw);
    if (!Number.isFinite(raw) || size < 1) throw new RangeError(`batchSize: the schedule must return a number ≥ 1, got ${String(raw)} at cycle ${cycle}`);
    lastCycle = cycle;
    lastSize = Math.min(size, n);
    return lastSize;
  };
}

/**
 * Creates the batcher of `rso.fit`; the worker threads of the sharded engine build the same one.
 *
 * @param batchSize - The batch size per cycle (see {@link batchSizes}).
 */
export function makeBatcher(xs: readonly tf.Tensor[], ys: readonly tf.Tensor[], batchSize: (cycle: number) => number, shuffle: boolean, seed: number): Batcher {
  const n = xs[0]!.shape[0]!;
  const rows = (cycle: number, index: number) => Math.min(batchSize(cycle), n - index * batchSize(cycle));
  let permCycle = -1; // the cycle whose permutation is in perm
  let perm = new Int32Array(0);
  // Shuffled batches are gathered on the host: on wasm, a host copy is much faster than tf.gather.
  let host: { xs: tf.TypedArray[]; ys: tf.TypedArray[] } | null = null;
  const permutation = (cycle: number): Int32Array => {
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
    return perm;
  };
  return {
    batchesPerPass: (cycle) => Math.ceil(n / batchSize(cycle)),
    rows,
    size: batchSize,
    key: (cycle, index) => `${shuffle ? cycle : '-'}/${batchSize(cycle)}/${index}`,
    next(cycle, index, start = 0, count = rows(cycle, index)) {
      const from = index * batchSize(cycle) + start;
      if (!shuffle) return { xs: xs.map((t) => tf.slice(t, from, count)), ys: ys.map((t) => tf.slice(t, from, count)) };
      host ??= { xs: xs.map((t) => t.dataSync()), ys: ys.map((t) => t.dataSync()) };
      const at = permutation(cycle).subarray(from, from + count);
      return { xs: xs.map((t, i) => gatherRows(t, host!.xs[i]!, at)), ys: ys.map((t, i) => gatherRows(t, host!.ys[i]!, at)) };
    },
  };
}
