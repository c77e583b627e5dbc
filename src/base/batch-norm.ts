import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

interface MomentumLayer {
  momentum: number;
}

/**
 * Re-estimates the moving mean and variance of every BatchNormalization layer from a sample of inputs.
 *
 * @param model - The model; its BN layers get moving statistics equal to the batch statistics of `x`.
 * @param x - The sample (the authors use 2,000 training images), one tensor per model input; it runs as one batch.
 * @remarks During RSO the moving statistics lag behind the searched weights. The authors re-estimate them
 * from a fixed set of 2,000 training images before each test. Here every BN layer's momentum is set to 0 for
 * one training-mode forward pass (moving ← batch statistic), then put back.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * reestimateBatchNorm(model, xTrain.slice(0, 2000));
 * ```
 */
export function reestimateBatchNorm(model: LayersModel, x: tf.Tensor | readonly tf.Tensor[]): void {
  const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as MomentumLayer[];
  if (bns.length === 0) return;
  const saved = bns.map((l) => l.momentum);
  try {
    for (const l of bns) l.momentum = 0;
    tf.tidy(() => {
      model.apply(x instanceof tf.Tensor ? x : [...x], { training: true });
    });
  } finally {
    bns.forEach((l, i) => {
      l.momentum = saved[i]!;
    });
  }
}
