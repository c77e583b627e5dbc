// Small models with fixed layer names, so that a grid naming their tensors covers every build of them.
import * as tfl from '@tensorflow/tfjs-layers';
import { fittedGrid } from '../src/index.js';
import type { WeightGrid } from '../src/index.js';

/** tinyConvSeq with named layers: q_conv1 → BN → ReLU → AvgPool → q_conv2 → BN → GAP → q_dense (softmax). */
export function namedConvSeq(seed = 1): tfl.Sequential {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1), name: 'q_conv1' }),
      tfl.layers.batchNormalization({ name: 'q_bn1' }),
      tfl.layers.reLU({ name: 'q_relu' }),
      tfl.layers.averagePooling2d({ poolSize: 2, name: 'q_pool' }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: init(2), name: 'q_conv2' }),
      tfl.layers.batchNormalization({ name: 'q_bn2' }),
      tfl.layers.globalAveragePooling2d({ name: 'q_gap' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'q_dense' }),
    ],
  });
}

/** A 3-bit grid of {@link namedConvSeq} with a different step per output channel (about a third of each He std). */
export function namedPerChannelGrid(bits = 3): WeightGrid {
  return fittedGrid({
    bits,
    tensors: [
      { name: 'q_conv1/kernel', steps: [0.15, 0.2, 0.25] },
      { name: 'q_conv2', steps: [0.08, 0.1, 0.12] },
      { name: 'q_dense/kernel', steps: [0.3, 0.35, 0.4] },
    ],
  });
}

/** Seeded-free deterministic costs for a tensor of `size` scalars: a fixed scramble of 0 … 1. */
export function scrambledCosts(size: number, salt: number): number[] {
  return Array.from({ length: size }, (_, k) => ((k * 7919 + salt * 104729) % 997) / 997);
}

/** The shapes of {@link namedConvSeq}'s kernels, by name. */
export const NAMED_KERNELS = [
  { name: 'q_conv1/kernel', size: 3 * 3 * 1 * 3 },
  { name: 'q_conv2/kernel', size: 3 * 3 * 3 * 3 },
  { name: 'q_dense/kernel', size: 3 * 3 },
] as const;
