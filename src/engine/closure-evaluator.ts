import * as tf from '@tensorflow/tfjs-core';
import type { BlockEvaluator, CandidateEvaluator, StagedEvaluator } from './evaluator.js';
import { stageSums } from '../base/stage-sums.js';
import { createWeightWriter, freezeVariables, otherVariables, restoreVariables, snapshotVariables } from './weight-writer.js';
import type { VariableSnapshot } from './weight-writer.js';

/** A closure evaluator plus the clean-up it needs once the mini-batch is done. */
export interface ClosureEvaluator extends BlockEvaluator {
  /** Puts every non-trainable variable (BN moving statistics) back to its value before the batch. */
  rollback(): void;
  /** Releases the snapshots taken for the batch. */
  dispose(): void;
}

/** What the closure evaluator needs for early rejection: the batch's per-example losses on its first rows. */
export interface ClosureStages {
  /** Examples in the batch. */
  readonly rows: number;
  /** Whether the batch's loss is the mean or the sum of the per-example losses. */
  readonly reduction: 'mean' | 'sum';
  /** One loss per example of the batch's first `rows` examples, with the weights as they are. */
  loss(rows: number): tf.Tensor1D;
}

/**
 * Checks that a loss function returned a scalar tensor.
 *
 * @param loss - What the function returned.
 * @param source - The function, as the message names it (a public caller adds its own name).
 * @returns `loss`.
 * @throws TypeError when `loss` is not a tensor of one element.
 */
export function requireScalar(loss: unknown, source: string): tf.Tensor {
  if (!(loss instanceof tf.Tensor)) throw new TypeError(`${source} must return a scalar tensor, got ${typeof loss}`);
  if (loss.size !== 1) throw new TypeError(`${source} must return a scalar tensor, got shape [${loss.shape.join(', ')}]`);
  return loss;
}

/** Reads a loss tensor, checking it is a scalar. */
export function readLoss(loss: tf.Tensor): number {
  return requireScalar(loss, 'the loss function').dataSync()[0]!;
}

/**
 * Evaluates candidates by calling the loss closure that `model.fit` hands to `minimize`.
 *
 * @remarks
 * - The first call of a batch is the model's own call: it updates BN moving statistics once, and the metric
 *   tensors it keeps are the ones `fit` reports.
 * - Every later call is extra. Afterwards every non-trainable variable it changed (BN moving mean and
 *   variance) is set back, so the statistics move once per batch. Tensors the closure keeps during an extra
 *   call (tfjs-layers keeps one per compiled metric) are handed to the enclosing scope instead of being kept,
 *   so `fit`'s per-batch tidy disposes them and `trainOnBatch` disposes them with its outputs.
 */
export function createClosureEvaluator(variables: readonly tf.Variable[], f: () => tf.Scalar): ClosureEvaluator;
export function createClosureEvaluator(variables: readonly tf.Variable[], f: () => tf.Scalar, stages: ClosureStages): ClosureEvaluator & StagedEvaluator;
/**
 * @param stages - With early rejection, the per-example losses of the batch's prefixes; the stage calls leave
 *   every non-trainable variable as it was.
 */
export function createClosureEvaluator(variables: readonly tf.Variable[], f: () => tf.Scalar, stages?: ClosureStages): ClosureEvaluator | (ClosureEvaluator & StagedEvaluator) {
  const weights = createWeightWriter(variables);
  const others = otherVariables(variables);
  // Before the batch (for rollback on failure) and after the model's own call (restored after extra calls).
  const initial = snapshotVariables(others);
  let afterPrimary: VariableSnapshot[] | null = null;

  const primaryCall = (): number => {
    const loss = tf.tidy(() => readLoss(f()));
    afterPrimary = snapshotVariables(others);
    return loss;
  };

  const extraCall = (snapshots: readonly VariableSnapshot[]): number => {
    const engine = tf.engine();
    const keep = engine.keep;
    const handedOver: tf.Tensor[] = [];
    let loss = NaN;
    try {
      engine.keep = <T extends tf.Tensor>(t: T): T => {
        handedOver.push(t);
        return t;
      };
      tf.tidy(() => {
        loss = readLoss(f());
        return handedOver;
      });
    } finally {
      engine.keep = keep;
      restoreVariables(snapshots);
    }
    return loss;
  };

  // The loss of each of n candidates, `set(k)` putting candidate k into the weights.
  const lossesOf = (n: number, set: (k: number) => void): Float64Array => {
    const losses = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      set(k);
      losses[k] = afterPrimary === null ? primaryCall() : extraCall(afterPrimary);
    }
    return losses;
  };

  const evaluator: ClosureEvaluator = {
    read: weights.read,
    write: weights.write,
    evaluate: (t, flat, candidates) => lossesOf(candidates.length, (k) => weights.write(t, flat, candidates[k]!)),
    evaluateBlock: (t, flats, candidates) => lossesOf(candidates.length, (k) => weights.writeMany(t, flats, candidates[k]!)),
    writeBlock: weights.writeMany,
    rollback: () => restoreVariables(initial),
    dispose() {
      for (const s of [...initial, ...(afterPrimary ?? [])]) s.saved.dispose();
      afterPrimary = null;
    },
  };
  return stages === undefined ? evaluator : { ...evaluator, ...stagedCalls(weights, freezeVariables(others), stages) };
}

/** The stage evaluation of the closure evaluator: each candidate's per-example losses on the batch's prefix. */
function stagedCalls(weights: ReturnType<typeof createWeightWriter>, frozen: ReturnType<typeof freezeVariables>, stages: ClosureStages): Omit<StagedEvaluator, keyof CandidateEvaluator> {
  const perExample = (rows: number): Float64Array => {
    const t = frozen(() => tf.tidy(() => stages.loss(rows)));
    const v = Float64Array.from(t.dataSync());
    t.dispose();
    return v;
  };
  return {
    reduction: stages.reduction,
    batchRows: () => stages.rows,
    evaluateStage(t, flat, candidates, _stage, rows) {
      const before = weights.read(t, flat);
      const record = Array.from(candidates, (c) => {
        weights.write(t, flat, c);
        return perExample(rows);
      });
      weights.write(t, flat, before);
      return stageSums(record);
    },
  };
}
