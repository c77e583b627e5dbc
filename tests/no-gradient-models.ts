import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Ops that backprop in tfjs cannot train through: some have no gradient at all, the rest a gradient of zero. */
export const NO_GRADIENT_OPS = {
  /** A hard threshold: 1 where x > 0 (tf.greater has no gradient). */
  greater: (x: tf.Tensor) => tf.cast(tf.greater(x, 0), 'float32'),
  /** tf.step: 1 where x > 0 (its gradient is zero). */
  step: (x: tf.Tensor) => tf.step(x),
  /** tf.sign (its gradient is zero). */
  sign: (x: tf.Tensor) => tf.sign(x),
  /** Rounding to quarters (tf.round's gradient is zero). */
  round: (x: tf.Tensor) => tf.div(tf.round(tf.mul(x, 4)), 4),
  /** An integer cast, as quantisation does: floor(4x) / 4 through int32 (tf.floor's gradient is zero). */
  intCast: (x: tf.Tensor) => tf.div(tf.cast(tf.cast(tf.floor(tf.mul(x, 4)), 'int32'), 'float32'), 4),
  /** Arg-max routing: each example goes to the unit of its largest feature, a one-hot code (tf.argMax has no gradient). */
  argMaxRoute: (x: tf.Tensor) => tf.cast(tf.oneHot(tf.argMax(x, -1), x.shape[x.rank - 1]!), 'float32'),
} as const;

/** The op names. */
export type NoGradientOp = keyof typeof NO_GRADIENT_OPS;

/** A layer that applies one of {@link NO_GRADIENT_OPS} elementwise (argMaxRoute: per example). */
export class OpLayer extends tfl.layers.Layer {
  static get className(): string {
    return 'NoGradientOpLayer';
  }
  readonly op: NoGradientOp;
  /** Tells the model engine that the op maps each element alone, so its delta paths may run through it. */
  readonly elementwise: boolean;
  constructor(args: { op: NoGradientOp; elementwise?: boolean }) {
    super({});
    this.op = args.op;
    this.elementwise = args.elementwise ?? false;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return NO_GRADIENT_OPS[this.op](Array.isArray(inputs) ? inputs[0]! : inputs);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), op: this.op, elementwise: this.elementwise };
  }
}
tf.serialization.registerClass(OpLayer);

/** Dense (ReLU) → BN → Dense → the op → Dense (softmax), on 8 features. */
export function opMlp(op: NoGradientOp, seed = 1, elementwise = false): tfl.Sequential {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [8], units: 6, activation: 'relu', kernelInitializer: init(1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.dense({ units: 5, kernelInitializer: init(2), biasInitializer: tfl.initializers.randomNormal({ seed: seed * 10 + 4, stddev: 0.3 }) }),
      new OpLayer({ op, elementwise }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}
