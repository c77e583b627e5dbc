/**
 * The paper's MNIST network with its ReLUs replaced by a hard threshold, for the binary-activation benchmark.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { createMnistNet } from '../../src/paper/index.js';
import { thresholdTwin } from './threshold-switch.js';

/**
 * Builds {@link createMnistNet} with the same seed (so the same initial weights), then swaps each
 * `block{i}_relu` layer for a `ThresholdLayer` of the same name ({@link thresholdTwin}): block i becomes
 * H(BN output of block i − 1) → conv → (pool) → BN, with H(x) = 1{x > 0}.
 *
 * @param seed - Seed of the initial weights, as in `createMnistNet`.
 * @param ste - True: the threshold's backward pass is the straight-through estimator; false: it has none.
 * @returns An uncompiled model mapping `[n, 28, 28, 1]` images to `[n, 10]` softmax probabilities.
 * @example
 * ```ts
 * const model = await thresholdMnistNet(42, false);
 * ```
 */
export async function thresholdMnistNet(seed: number, ste: boolean): Promise<tfl.LayersModel> {
  const base = createMnistNet({ seed });
  try {
    return await thresholdTwin(base, ste);
  } finally {
    base.dispose();
  }
}
