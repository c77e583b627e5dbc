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
