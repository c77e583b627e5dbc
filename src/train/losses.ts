import * as tf from '@tensorflow/tfjs-core';
import { metrics } from '@tensorflow/tfjs-layers';

/** The loss names tfjs-layers' `compile` accepts (its `lossesMap`), which `rso.fit` accepts too. */
export const LOSS_NAMES = [
  'meanSquaredError', 'meanAbsoluteError', 'meanAbsolutePercentageError', 'meanSquaredLogarithmicError', 'squaredHinge',
  'hinge', 'categoricalHinge', 'logcosh', 'categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy',
  'kullbackLeiblerDivergence', 'poisson', 'cosineProximity',
] as const;

/** A loss by name, as tfjs-layers' `compile` takes it (every name its `compile` accepts). */
export type LossName = (typeof LOSS_NAMES)[number];

/** A loss by name, or a function returning per-example losses or a scalar. */
export type LossSpec = LossName | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);

/**
 * Resolves one of three common losses, or a loss function, to a function of (yTrue, yPred) returning a scalar,
 * mean- or sum-reduced (used by the benchmarks to evaluate a model outside `rso.fit`).
 *
 * @param spec - `'categoricalCrossentropy'`, `'sparseCategoricalCrossentropy'`, `'meanSquaredError'` or a
 *   function of (yTrue, yPred) giving per-example losses.
 * @param reduction - `'mean'` or `'sum'` over the examples.
 * @returns The loss function.
 * @throws RangeError for another name or reduction.
 */
export function resolveLoss(spec: LossSpec, reduction: 'mean' | 'sum'): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  let perExample: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
  if (typeof spec === 'function') perExample = spec;
  else if (spec === 'categoricalCrossentropy') perExample = metrics.categoricalCrossentropy;
  else if (spec === 'sparseCategoricalCrossentropy') {
    perExample = (yt, yp) => metrics.categoricalCrossentropy(tf.oneHot(tf.cast(tf.reshape(yt, [-1]), 'int32'), yp.shape[1]!), yp);
  } else if (spec === 'meanSquaredError') perExample = metrics.meanSquaredError;
  else throw new RangeError(`loss: unknown loss "${String(spec)}"; use categoricalCrossentropy, sparseCategoricalCrossentropy, meanSquaredError or a function`);
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new RangeError(`lossReduction must be 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  }
  return (yTrue, yPred) => (reduction === 'sum' ? tf.sum(perExample(yTrue, yPred)) : tf.mean(perExample(yTrue, yPred))) as tf.Scalar;
}
