import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Task } from './protocol.js';

/** MNIST image shape and class count. */
export const IMAGE_SHAPE = [28, 28, 1] as const;
export const CLASSES = 10;

/**
 * A hard threshold, x > 0 → 1 else 0, built on `tf.greater`, which has no gradient in tfjs: `model.fit` with
 * Adam stops with "gradient function not found for Greater".
 */
class HardThreshold extends tfl.layers.Layer {
  static readonly className = 'HardThreshold';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => tf.cast(tf.greater(x, 0), 'float32'));
  }
}
tf.serialization.registerClass(HardThreshold);

const init = (seed: number) => tfl.initializers.heNormal({ seed });

/** Tab 1: pool → conv → BN → ReLU → pool → conv → BN → ReLU → global pool → softmax; 770 trainable scalars. */
function convNet(seed: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.averagePooling2d({ inputShape: [...IMAGE_SHAPE], poolSize: 2 }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(seed + 1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(seed + 2) }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(seed + 3) }),
    ],
  });
}

/** Tab 2: a 7×7 pooled image → Dense(16) → hard threshold → softmax; 970 trainable scalars. */
function thresholdNet(seed: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.averagePooling2d({ inputShape: [...IMAGE_SHAPE], poolSize: 4 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 16, kernelInitializer: init(seed + 1) }),
      new HardThreshold({}),
      tfl.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(seed + 2) }),
    ],
  });
}

/** The network of a task, with weights drawn from `seed` (the shrink tab loads its model instead). */
export function buildModel(task: Task, seed: number): tfl.LayersModel {
  if (task === 'shrink') throw new Error('the shrink tab loads the float model: it builds no network');
  return task === 'conv' ? convNet(seed) : thresholdNet(seed);
}
