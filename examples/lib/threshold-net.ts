/**
 * The paper's MNIST network with its ReLUs replaced by a hard threshold, for the binary-activation benchmark.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { createMnistNet } from '../../src/paper/index.js';
import { ThresholdLayer } from './straight-through.js';

interface LayerJson {
  class_name: string;
  config: { name: string } & Record<string, unknown>;
}
interface SequentialJson {
  config: { layers: LayerJson[] };
}

/**
 * Builds {@link createMnistNet} with the same seed (so the same initial weights), then swaps each
 * `block{i}_relu` layer for a {@link ThresholdLayer} of the same name: block i becomes
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
  const json = base.toJSON(null, false) as unknown as SequentialJson;
  let swapped = 0;
  json.config.layers = json.config.layers.map((l) => {
    if (!l.config.name.endsWith('_relu')) return l;
    swapped++;
    return { class_name: ThresholdLayer.className, config: { name: l.config.name, trainable: true, ste } };
  });
  if (swapped === 0) throw new Error('thresholdMnistNet: the paper network has no *_relu layer to replace');
  const model = await tfl.models.modelFromJSON({ modelTopology: json } as unknown as Parameters<typeof tfl.models.modelFromJSON>[0]);
  model.setWeights(base.getWeights());
  base.dispose();
  return model;
}
