/**
 * Computes candidate losses for one scalar weight. The search core talks to weights only through this.
 *
 * @remarks `tensor` indexes the optimizer's variable list and `flat` is a row-major index into it.
 * `evaluate` may leave the weight at any candidate; the core then calls `write` with the kept value, or
 * with the original value when `evaluate` throws.
 */
export interface CandidateEvaluator {
  /** Current value of one scalar. */
  read(tensor: number, flat: number): number;
  /** Loss with the scalar set to each candidate, on the same mini-batch. */
  evaluate(tensor: number, flat: number, candidates: Float32Array): ArrayLike<number>;
  /** Sets one scalar. */
  write(tensor: number, flat: number, value: number): void;
  /**
   * Losses with the scalars `flats` of tensor `tensor` set to each candidate's values (a block move), on the same
   * mini-batch. Like `evaluate`, it may leave any candidate in the weights; the core then calls `writeBlock`.
   * Evaluators without it cannot run block moves.
   */
  evaluateBlock?(tensor: number, flats: Int32Array, candidates: readonly Float32Array[]): ArrayLike<number>;
  /** Sets the scalars `flats` of tensor `tensor` to `values`. */
  writeBlock?(tensor: number, flats: Int32Array, values: Float32Array): void;
  /**
   * Forward work spent so far, if the evaluator counts it: examples × layers evaluated, summed over the
   * candidates of every step (a layer counts once per candidate and example when any of its outputs is computed,
   * even one channel of it on a delta path), plus the layers run to compute cached inputs.
   */
  work?(): number;
}

/**
 * An evaluator that takes block moves (a move policy's blocks): {@link CandidateEvaluator} with its block pair
 * required. A scalar step is a move of one scalar and goes through `evaluate` and `write`.
 */
export interface BlockEvaluator extends CandidateEvaluator {
  evaluateBlock(tensor: number, flats: Int32Array, candidates: readonly Float32Array[]): ArrayLike<number>;
  writeBlock(tensor: number, flats: Int32Array, values: Float32Array): void;
}

/** True when `evaluator` takes block moves (it has `evaluateBlock` and `writeBlock`). */
export function movesBlocks(evaluator: CandidateEvaluator): evaluator is BlockEvaluator {
  return typeof evaluator.evaluateBlock === 'function' && typeof evaluator.writeBlock === 'function';
}

/**
 * An evaluator that can also evaluate a step on a prefix of its batch, for early rejection.
 *
 * @remarks Stage `stage` of a batch is its first `rows` examples (the same rows on every shard count, each shard
 * taking its part of them). The result holds sums over examples, all shards combined, in the layout of
 * `STAGE_SUM_LENGTH`: `[n, L0, L1, L2, S01, Q01, S02, Q02, S12, Q12]`.
 */
export interface StagedEvaluator extends CandidateEvaluator {
  /** How the loss reduces over the batch: an early step's losses are the stage's mean, or its sum × N / n. */
  readonly reduction: 'mean' | 'sum';
  /** Examples in the current batch, all shards together. */
  batchRows(): number;
  /** The per-example loss sums of each candidate on the batch's first `rows` examples. */
  evaluateStage(tensor: number, flat: number, candidates: Float32Array, stage: number, rows: number): ArrayLike<number>;
}
