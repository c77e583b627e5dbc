import * as tf from '@tensorflow/tfjs-core';
import type { CandidateEvaluator } from './evaluator.js';

/** A closure evaluator plus the clean-up it needs once the mini-batch is done. */
export interface ClosureEvaluator extends CandidateEvaluator {
  /** Puts every non-trainable variable (BN moving statistics) back to its value before the batch. */
  rollback(): void;
  /** Releases the snapshots taken for the batch. */
  dispose(): void;
}

interface Snapshot {
  readonly variable: tf.Variable;
  readonly saved: tf.Tensor;
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
 * - Weights change only by `assign` of a fresh tensor: on wasm, editing memory in place is invisible to
 *   XNNPACK's cached packed weights (tfjs-notes.md).
 */
export function createClosureEvaluator(variables: readonly tf.Variable[], f: () => tf.Scalar): ClosureEvaluator {
  let primaryDone = false;
  const trainable = new Set(variables.map((v) => v.id));
  const others = Object.values(tf.engine().state.registeredVariables).filter((v) => !trainable.has(v.id));
  const snapshot = (): Snapshot[] => others.map((variable) => ({ variable, saved: tf.keep(tf.clone(variable)) }));
  // Before the batch (for rollback on failure) and after the model's own call (restored after extra calls).
  const initial = snapshot();
  let snapshots: Snapshot[] = [];
  // Host copy of the tensor under search; valid until another writer touches it (only us, within a batch).
  let cachedTensor = -1;
  let cached = new Float32Array(0);

  const host = (t: number): Float32Array => {
    if (cachedTensor !== t) {
      cached = Float32Array.from(variables[t]!.dataSync() as Float32Array);
      cachedTensor = t;
    }
    return cached;
  };

  const assignScalar = (t: number, flat: number, value: number): void => {
    const base = host(t);
    if (Object.is(base[flat], Math.fround(value))) return;
    base[flat] = value;
    const v = variables[t]!;
    // A fresh copy each time: on cpu tf.tensor aliases its array.
    const fresh = tf.tensor(base.slice(), v.shape, 'float32');
    v.assign(fresh);
    fresh.dispose();
  };

  const readLoss = (loss: tf.Tensor): number => {
    if (!(loss instanceof tf.Tensor)) {
      throw new TypeError(`RSOOptimizer.minimize: the loss closure must return a scalar tensor, got ${typeof loss}`);
    }
    if (loss.size !== 1) {
      throw new TypeError(`RSOOptimizer.minimize: the loss closure must return a scalar tensor, got shape [${loss.shape.join(', ')}]`);
    }
    return loss.dataSync()[0]!;
  };

  const primaryCall = (): number => {
    const loss = tf.tidy(() => readLoss(f()));
    primaryDone = true;
    snapshots = snapshot();
    return loss;
  };

  const extraCall = (): number => {
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
      restoreSideState();
    }
    return loss;
  };

  const restore = (from: readonly Snapshot[]): void => {
    for (const s of from) {
      if (s.variable.dataId !== s.saved.dataId) s.variable.assign(s.saved);
    }
  };
  const restoreSideState = () => restore(snapshots);

  return {
    read: (t, flat) => host(t)[flat]!,
    evaluate(t, flat, candidates) {
      const losses = new Float64Array(candidates.length);
      for (let k = 0; k < candidates.length; k++) {
        assignScalar(t, flat, candidates[k]!);
        losses[k] = primaryDone ? extraCall() : primaryCall();
      }
      return losses;
    },
    write: assignScalar,
    rollback: () => restore(initial),
    dispose() {
      for (const s of [...initial, ...snapshots]) s.saved.dispose();
      snapshots = [];
    },
  };
}
