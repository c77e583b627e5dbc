import type { PolicyConfig } from '../base/policy-config.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ShardReducer } from './reducer.js';
import type { SearchSnapshot } from '../search/snapshot.js';

/** Rows [start, start + count) of a batch of `n` examples that shard `rank` of `size` evaluates. */
export function shardRange(n: number, rank: number, size: number): [number, number] {
  const start = Math.floor((n * rank) / size);
  return [start, Math.floor((n * (rank + 1)) / size) - start];
}

/** The factor of a shard's loss in the whole batch's: its share of the rows for a mean loss, 1 for a sum. */
export function shardLossScale(n: number, rank: number, size: number, reduction: 'mean' | 'sum'): number {
  return reduction === 'sum' ? 1 : shardRange(n, rank, size)[1] / n;
}

/** What a worker needs of the optimizer: its search as plain data. */
export interface ShardedOptimizer {
  /** The bound search's config, packed state and σ per tensor (see `RSOOptimizer.searchSnapshot`). */
  searchSnapshot(): SearchSnapshot;
}

/** A data set as tensors in the model's input and output order. */
export interface ShardData {
  /** One tensor per model input. */
  readonly xs: readonly tf.Tensor[];
  /** One tensor per model output. */
  readonly ys: readonly tf.Tensor[];
}

/** What a pool of workers needs to run the same search as the trainer, each on its shard of every batch. */
export interface ShardStartArgs {
  /** The model; each worker rebuilds it from its topology and weights. */
  readonly model: LayersModel;
  /** The optimizer whose search the workers repeat. */
  readonly optimizer: ShardedOptimizer;
  /** The training set, in the model's input and output order. */
  readonly data: ShardData;
  /** Examples per batch (every worker takes its shard of each): a number, or a schedule's config over the cycles. */
  readonly batchSize: number | PolicyConfig;
  /** Whether batches come from the seeded shuffle of each cycle. */
  readonly shuffle: boolean;
  /** Each output's loss by name; undefined when a loss is a function, which a worker cannot receive. */
  readonly losses: readonly string[] | undefined;
  /** Each output's loss weight. */
  readonly lossWeights: readonly number[];
  /** Mean or sum over the batch. */
  readonly lossReduction: 'mean' | 'sum';
  /** The model engine's options, passed through whole. */
  readonly engine: Readonly<Record<string, number | boolean | undefined>>;
}

/** The trainer's side of a running pool: it holds rank 0 of the all-reduce. */
export interface ShardPool {
  /** The trainer's end of the all-reduce (rank 0). */
  readonly reducer: ShardReducer;
  /** Tells the workers to run the steps of one more batch (call before each `runSteps`). */
  nextBatch(): void;
  /** Tells the workers whether the batch goes on after a step (call where `runSteps` asks `keepGoing`); returns `go`. */
  proceed(go: boolean): boolean;
  /** Ends the workers: cleanly after a normal end, or by aborting them after an error. Returns their errors. */
  close(failed: boolean): Promise<string[]>;
}

/**
 * Threads that share each step of `rso.fit` (its `workers` option), e.g. `nodeWorkers(2)` from `tfjs-rso/node`.
 *
 * @remarks Each worker holds a copy of the model and the training set, runs the same search in lockstep on its
 * shard of every batch, and sums BN statistics and losses with the trainer through shared memory.
 */
export interface WorkerPool {
  /** Threads in all, the trainer's included. */
  readonly size: number;
  /** Starts `size - 1` workers. */
  start(args: ShardStartArgs): Promise<ShardPool>;
  /**
   * Throws when the pool cannot start here (a backend its workers cannot load, say). Optional; `rso.fit` calls it
   * before it compiles the model or binds the optimizer, so that a corrected call can follow.
   */
  check?(): void;
}
