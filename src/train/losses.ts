import * as tf from '@tensorflow/tfjs-core';
import { metrics } from '@tensorflow/tfjs-layers';

/** A loss by name, or a function returning per-example losses or a scalar. */
export type LossSpec =
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'meanSquaredError'
  | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);

/** Resolves a {@link LossSpec} to a function of (yTrue, yPred) returning a scalar, mean- or sum-reduced. */
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
