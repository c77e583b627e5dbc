/**
 * The paper's MNIST network run by hand with quantised kernels, for quantisation-aware training: the latent
 * float weights live in a tfjs-layers model, and the forward pass reads each kernel through a quantiser.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Layer classes whose weights are kernels (quantised); every other weight (BN gamma and beta) stays float. */
const KERNEL_LAYERS: ReadonlySet<string> = new Set(['Conv2D', 'Dense']);

interface LayerInternals {
  readonly strides?: number[];
  readonly padding?: string;
  readonly poolSize?: number[];
  readonly epsilon?: number;
  readonly useBias?: boolean;
}

/**
 * The logits of a Sequential conv net (Conv2D stride 1 same padding without bias, average pooling, BN on the
 * last axis in training mode, ReLU activations, global average pooling, Dense without bias) with every kernel
 * replaced by `quantize(kernel)`: the forward pass that quantisation-aware training differentiates.
 *
 * @param model - The model holding the latent float weights (for example `createMnistNet()`).
 * @param x - A batch of inputs.
 * @param quantize - The kernel transform, for example a straight-through quantiser.
 * @returns The logits (the Dense layer's output before its softmax).
 * @throws Error naming the layer when the model holds a layer this forward pass does not know.
 * @example
 * ```ts
 * const logits = quantizedLogits(createMnistNet({ seed: 1 }), xs, steQuantizer('ternary'));
 * ```
 */
export function quantizedLogits(model: tfl.LayersModel, x: tf.Tensor, quantize: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  let h = x;
  for (const layer of model.layers) h = applyLayer(layer, h, quantize);
  return h;
}

function applyLayer(layer: tfl.layers.Layer, h: tf.Tensor, quantize: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  const cls = layer.getClassName();
  const li = layer as unknown as LayerInternals;
  const vars = layer.trainableWeights.map((w) => w.read());
  if ((cls === 'Conv2D' || cls === 'Dense') && li.useBias === true) throw new Error(`quantizedLogits: layer ${layer.name} has a bias`);
  if (cls === 'Conv2D') {
    if ((li.strides ?? [1, 1]).some((s) => s !== 1) || li.padding !== 'same') throw new Error(`quantizedLogits: ${layer.name} must have stride 1 and same padding`);
    return tf.conv2d(h as tf.Tensor4D, quantize(vars[0]!) as tf.Tensor4D, 1, 'same');
  }
  if (cls === 'AveragePooling2D') {
    const [p0, p1] = li.poolSize ?? [2, 2];
    const [s0, s1] = li.strides ?? [p0!, p1!];
    return tf.avgPool(h as tf.Tensor4D, [p0!, p1!], [s0!, s1!], 'valid');
  }
  if (cls === 'BatchNormalization') {
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    return tf.batchNorm(h, mean, variance, vars[1], vars[0], li.epsilon ?? 1e-3);
  }
  if (cls === 'Activation') return tf.relu(h);
  if (cls === 'GlobalAveragePooling2D') return tf.mean(h, [1, 2]);
  if (cls === 'Dense') return tf.matMul(h as tf.Tensor2D, quantize(vars[0]!) as tf.Tensor2D);
  throw new Error(`quantizedLogits: layer ${layer.name} of class ${cls} is not supported`);
}

/**
 * Copies `source`'s weights into `target` (the same architecture) with every Conv2D and Dense kernel quantised,
 * so that `target` is the deployed quantised network.
 *
 * @param source - The model with the latent float weights.
 * @param target - A model of the same architecture; its weights are overwritten.
 * @param quantize - The quantiser (forward only).
 */
export function copyQuantized(source: tfl.LayersModel, target: tfl.LayersModel, quantize: (w: tf.Tensor) => tf.Tensor): void {
  source.layers.forEach((layer, i) => {
    const weights = layer.getWeights();
    const out = KERNEL_LAYERS.has(layer.getClassName()) ? weights.map((w) => quantize(w)) : weights;
    target.layers[i]!.setWeights(out);
    if (out !== weights) tf.dispose(out);
  });
}

/**
 * The number of distinct values in each Conv2D and Dense kernel of `model`: 3 or fewer for a ternary network,
 * 2 or fewer for a binary one.
 */
export function distinctKernelValues(model: tfl.LayersModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const layer of model.layers) {
    if (!KERNEL_LAYERS.has(layer.getClassName())) continue;
    counts[layer.name] = new Set(layer.getWeights()[0]!.dataSync()).size;
  }
  return counts;
}
