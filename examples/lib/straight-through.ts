/**
 * Hard thresholds and weight quantisers for the benchmarks, each with a straight-through estimator (STE): the
 * forward pass computes the hard value, and the backward pass is a hand-written surrogate via `tf.customGrad`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Beyond this |x| the clipped-identity STE of the threshold passes no gradient. */
const STE_CLIP = 1;
// Ternary weight networks: threshold 0.7 · mean |w| (Li, Zhang & Liu, "Ternary Weight Networks", 2016).
const TERNARY_THRESHOLD_FACTOR = 0.7;

/**
 * The hard threshold H(x) = 1 where x > 0, else 0, built from `tf.greater`, which has no gradient in tfjs.
 *
 * @param x - Any float tensor.
 * @returns A float32 tensor of zeros and ones, the shape of `x`.
 * @example
 * ```ts
 * hardThreshold(tf.tensor1d([-1, 0, 2])); // [0, 0, 1]
 * ```
 */
export function hardThreshold(x: tf.Tensor): tf.Tensor {
  return tf.cast(tf.greater(x, 0), 'float32');
}

/**
 * The hard threshold with a straight-through estimator: the forward pass is {@link hardThreshold}; the backward
 * pass is the clipped identity.
 *
 * @param x - Any float tensor.
 * @returns H(x), a float32 tensor of zeros and ones; its gradient is dL/dx = dL/dy · 1{|x| ≤ 1}.
 * @example
 * ```ts
 * const g = tf.grad((x: tf.Tensor) => tf.sum(steThreshold(x)))(tf.tensor1d([-2, 0.5])); // [0, 1]
 * ```
 */
export function steThreshold(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: hardThreshold(input),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(saved[0]!), STE_CLIP), 'float32')),
    };
  });
  return op(x);
}

/**
 * Ternary quantisation of a weight tensor (TWN): q = α · sign(w) · 1{|w| > t}, with t = 0.7 · mean|w| and α the
 * mean of |w| over the weights above t (α = 0 if none is).
 *
 * @param w - A float weight tensor.
 * @returns The quantised tensor, with values in {−α, 0, α}.
 * @example
 * ```ts
 * ternaryQuantize(tf.tensor1d([1, -0.1, -2, 0.2])); // t = 0.5775, α = 1.5: [1.5, 0, -1.5, 0]
 * ```
 */
export function ternaryQuantize(w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(w);
    const t = tf.mul(tf.mean(a), TERNARY_THRESHOLD_FACTOR);
    const mask = tf.cast(tf.greater(a, t), 'float32');
    const alpha = tf.div(tf.sum(tf.mul(a, mask)), tf.maximum(tf.sum(mask), 1));
    return tf.mul(tf.mul(tf.sign(w), mask), alpha);
  });
}

/**
 * Binary quantisation of a weight tensor: q = α · sign(w) with α = mean|w| (zeros map to +α).
 *
 * @param w - A float weight tensor.
 * @returns The quantised tensor, with values in {−α, α}.
 * @example
 * ```ts
 * binaryQuantize(tf.tensor1d([1, -3, 0])); // α = 4/3: [4/3, -4/3, 4/3]
 * ```
 */
export function binaryQuantize(w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const alpha = tf.mean(tf.abs(w));
    const signs = tf.sub(tf.mul(tf.cast(tf.greaterEqual(w, 0), 'float32'), 2), 1);
    return tf.mul(signs, alpha);
  });
}

/** A weight quantiser: ternary or binary. */
export type WeightQuantizer = 'ternary' | 'binary';

/** The quantiser function of a {@link WeightQuantizer} name. */
export function quantizerOf(name: WeightQuantizer): (w: tf.Tensor) => tf.Tensor {
  return name === 'ternary' ? ternaryQuantize : binaryQuantize;
}

/**
 * A quantiser with a straight-through estimator: the forward pass is the quantised tensor, the backward pass
 * the identity (dL/dw = dL/dq), as in quantisation-aware training of ternary and binary networks.
 *
 * @param name - `'ternary'` or `'binary'`.
 * @returns A function of the latent float weights.
 * @example
 * ```ts
 * const q = steQuantizer('ternary')(latentKernel); // forward: ternaryQuantize(latentKernel)
 * ```
 */
export function steQuantizer(name: WeightQuantizer): (w: tf.Tensor) => tf.Tensor {
  const quantize = quantizerOf(name);
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: quantize(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => dy }));
}

/** Options of {@link ThresholdLayer}. */
export interface ThresholdLayerArgs {
  /** Name of the layer. */
  readonly name?: string;
  /** True: the backward pass is the straight-through estimator ({@link steThreshold}); false: none (tfjs finds no gradient). */
  readonly ste?: boolean;
}

/**
 * A layer applying the hard threshold elementwise: {@link hardThreshold}, or {@link steThreshold} when `ste` is
 * set. Registered with tfjs serialization, so models using it save and load in a process that imports this module.
 */
export class ThresholdLayer extends tfl.layers.Layer {
  /** The class name under which tfjs serializes the layer. */
  static get className(): string {
    return 'HardThreshold';
  }
  /** Whether the backward pass is the STE. */
  readonly ste: boolean;
  /** Each output element depends on its own input element only: the model engine's delta paths run through it. */
  readonly elementwise = true;
  constructor(args: ThresholdLayerArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
    this.ste = args.ste ?? false;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return this.ste ? steThreshold(x) : hardThreshold(x);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ste: this.ste };
  }
}
tf.serialization.registerClass(ThresholdLayer);
