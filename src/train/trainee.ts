import type * as tf from '@tensorflow/tfjs-core';
import type { CandidateEvaluator } from '../engine/evaluator.js';
import type { ShardedOptimizer } from '../engine/shard-pool.js';
import type { ResolvedConfig } from '../config/config.js';
import type { StepResult } from '../search/rso-search.js';
import type { SearchState } from '../base/search-state.js';
import type { WeightGroup } from '../base/weight-groups.js';
import type { StageCounts } from './stage-counts.js';

/**
 * What `rso.fit` needs of the optimizer it trains with: a `tf.Optimizer` (the model is compiled with it) that
 * runs a search. `RSOOptimizer` is one; the trainer knows it only through this interface.
 */
export interface Trainee extends tf.Optimizer, ShardedOptimizer {
  /** The parsed configuration. */
  readonly config: ResolvedConfig;
  /** Steps taken so far. */
  readonly step: number;
  /** Completed cycles. */
  readonly cycle: number;
  /** Scalars one cycle visits, once bound. */
  readonly scalarsPerCycle: number;
  /** The weight groups of the bound variables. */
  readonly weightGroups: readonly WeightGroup[];
  /** The search position. */
  searchState(): SearchState;
  /** The name of the group under the cursor. */
  currentGroup(): string;
  /** Binds the search to the model's trainable variables; the error messages name `caller`, the public method. */
  bind(variables: readonly tf.Variable[], caller?: string): void;
  /** Runs the steps of one mini-batch; with early rejection, `counts` (the caller's) records where they stopped. */
  runSteps(evaluator: CandidateEvaluator, keepGoing?: () => boolean, counts?: StageCounts): StepResult;
}
