import type { ShardReducer } from './reducer.js';

/**
 * The sharded model engine's view of the batch split: this evaluator sees one shard, BN layers normalise with
 * whole-batch statistics through `reducer`, and a candidate's loss is the sum over shards of `lossScale` times
 * the shard's loss (`lossScale` = shard size / batch size for a mean loss, 1 for a sum).
 */
export interface ShardOption {
  readonly reducer: ShardReducer;
  readonly lossScale: number;
}

/** Answers several yes/no questions the same way on every shard: yes only where every shard says yes. */
export type Agree = (...fits: boolean[]) => boolean[];

/**
 * The vote of every shard on the same questions, so that all take the same path (BN statistics are all-reduced
 * inside what each path runs). Unsharded, the answers are the local ones. Each call is one all-reduce: callers
 * must ask in the same order on every shard.
 */
export function shardAgree(shard: ShardOption | undefined): Agree {
  if (shard === undefined) return (...fits) => fits;
  return (...fits) => {
    const votes = shard.reducer.allReduce(fits.map((f) => (f ? 1 : 0)));
    return Array.from(votes, (v) => v === shard.reducer.size);
  };
}

/** One shard's candidate losses → the whole batch's, identical on every shard (unsharded: the losses as given). */
export function shardCombine(shard: ShardOption | undefined): (local: Float64Array) => Float64Array {
  if (shard === undefined) return (local) => local;
  return (local) => shard.reducer.allReduce(local.map((l) => l * shard.lossScale));
}

/** One shard's sums over its examples → the whole batch's, identical on every shard (unsharded: as given). */
export function shardSum(shard: ShardOption | undefined): (local: Float64Array) => Float64Array {
  if (shard === undefined) return (local) => local;
  return (local) => shard.reducer.allReduce(local);
}
