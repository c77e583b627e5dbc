/**
 * The loss of a flat weight vector on one batch: written into the model's variables, then one tfjs forward pass.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { FlatLayout } from './flat-weights.js';
import { writeFlat } from './flat-weights.js';

/**
 * The mean categorical cross-entropy of `model` with weights `params` on (`xs`, `ys`), the model's output being
 * class probabilities (a softmax), as RSO's loss on the paper's networks.
 *
 * @remarks BN layers run in training mode (batch statistics), as in a training step, so their moving statistics
 * change with every call: the benchmark re-estimates them from training images before each test measurement.
 * Leaves the weights in the model; frees every tensor it makes.
 */
export function batchLoss(model: tfl.LayersModel, layout: FlatLayout, params: Float32Array, xs: tf.Tensor, ys: tf.Tensor): number {
  writeFlat(layout, params);
  return tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)).dataSync()[0]!);
}
