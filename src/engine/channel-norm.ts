import * as tf from '@tensorflow/tfjs-core';

/** Mean and biased variance of each channel (last axis) over every other axis. */
export interface ChannelMoments {
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

/**
 * Training-mode batch normalisation over the last (channel) axis, written with kernels that are fast on wasm.
 *
 * @remarks
 * On other backends it is `tf.moments` and `tf.batchNorm`, as tfjs-layers computes it (the cpu backend's
 * batchNorm works in float64 internally, so a bias in front of a BN cancels there more exactly than in float32).
 *
 * On wasm, `tf.moments` over every axis but the last transposes and reduces in several slow passes, and
 * `tf.batchNorm` divides every element by its channel's deviation in scalar code. `npm run bench:engine` times
 * both (docs/benchmarks.md has the figures).
 *
 * - {@link ChannelNorm.moments} sums by a matrix product of the [C, N] transpose with a column of ones. This
 *   adds in the same order as `tf.moments`, and on wasm gives bit-identical statistics.
 * - {@link ChannelNorm.normalize} computes (x − mean) · k + beta with k = gamma / √(variance + ε), as two 1×1
 *   depthwise convolutions. x − mean rounds as in `tf.batchNorm`; the scaling rounds differently
 *   (`tf.batchNorm` multiplies by gamma, then divides by √(variance + ε)), in the last bit or so.
 *
 * Every channel count takes the same kernels, so one channel normalised alone (the delta path) rounds exactly
 * as it does among the others (the full pass): a change with no effect leaves the loss bit for bit unchanged.
 *
 * Two more per-channel kernels serve the conv delta path:
 * - {@link ChannelNorm.channel} takes one channel out of an activation. On wasm `tf.slice` copies a strided
 *   channel element by element; a matrix product with a one-hot column gives the same values (x · 1 plus
 *   zeros) several times faster.
 * - {@link ChannelNorm.convChannel} computes one output channel of a convolution. On wasm a convolution with
 *   one output channel is slow; a depthwise convolution, then a matrix product with a column of ones to sum
 *   the input channels, is faster. It adds in another order than the full
 *   convolution, so it rounds differently (a relative difference of the order of 1e-7 of the sum of magnitudes).
 *
 * The ones tensors are kept between calls (the wasm backend caches its matrix-product operators by tensor),
 * so {@link ChannelNorm.dispose} must be called when done.
 */
export interface ChannelNorm {
  /** Per-channel mean and variance of `x` over every axis but the last. */
  moments(x: tf.Tensor): ChannelMoments;
  /** Normalises `x` with the given statistics, then scales by `gamma` and shifts by `beta` (either may be null). */
  normalize(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, beta: tf.Tensor | null, gamma: tf.Tensor | null, epsilon: number): tf.Tensor;
  /**
   * Channel `c` of `x` (last axis), shaped as `x` with a last dimension of 1. The values equal `tf.slice`'s
   * exactly (except that −0 may come out as +0), as long as no element of `x` is infinite or NaN (on wasm, a
   * product by 0 would then spread it).
   */
  channel(x: tf.Tensor, c: number): tf.Tensor;
  /**
   * Output channel `c` of `tf.conv2d(x, kernel, 1, 'same')`, shaped [batch, height, width, 1], for an NHWC `x`
   * and a kernel [kh, kw, in, out].
   */
  convChannel(x: tf.Tensor4D, kernel: tf.Tensor4D, c: number): tf.Tensor4D;
  /** Frees the kept tensors. */
  dispose(): void;
}

/** Creates a {@link ChannelNorm}, with its own kept tensors. */
export function createChannelNorm(): ChannelNorm {
  const kept = new Map<string, tf.Tensor>();
  const keptTensor = (key: string, make: () => tf.Tensor): tf.Tensor => {
    let t = kept.get(key);
    if (t === undefined || t.isDisposed) {
      t = tf.keep(make());
      kept.set(key, t);
    }
    return t;
  };
  return {
    moments(x) {
      const c = x.shape[x.rank - 1]!;
      return tf.tidy(() => {
        if (tf.getBackend() !== 'wasm') {
          const m = tf.moments(x, Array.from({ length: x.rank - 1 }, (_, i) => i));
          return { mean: tf.reshape(m.mean, [c]) as tf.Tensor1D, variance: tf.reshape(m.variance, [c]) as tf.Tensor1D };
        }
        const n = x.size / c;
        const ones = keptTensor(`ones:${n}`, () => tf.ones([n, 1])) as tf.Tensor2D;
        const xt = tf.transpose(tf.reshape(x, [n, c])) as tf.Tensor2D;
        const mean = tf.div(tf.matMul(xt, ones), n) as tf.Tensor2D;
        const variance = tf.div(tf.matMul(tf.square(tf.sub(xt, mean)) as tf.Tensor2D, ones), n);
        return { mean: tf.reshape(mean, [c]) as tf.Tensor1D, variance: tf.reshape(variance, [c]) as tf.Tensor1D };
      });
    },
    normalize(x, mean, variance, beta, gamma, epsilon) {
      const c = x.shape[x.rank - 1]!;
      if (tf.getBackend() !== 'wasm') return tf.batchNorm(x, mean, variance, beta ?? undefined, gamma ?? undefined, epsilon);
      return tf.tidy(() => {
        const inv = tf.rsqrt(tf.add(variance, epsilon));
        const k = gamma === null ? inv : tf.mul(gamma, inv);
        const x4 = (x.rank === 4 ? x : tf.reshape(x, [1, 1, x.size / c, c])) as tf.Tensor4D;
        const unit = keptTensor(`unit:${c}`, () => tf.ones([1, 1, c, 1])) as tf.Tensor4D;
        const d = tf.fused.depthwiseConv2d({ x: x4, filter: unit, strides: 1, pad: 'valid', bias: tf.neg(tf.reshape(mean, [c])) });
        const filter = tf.reshape(k, [1, 1, c, 1]) as tf.Tensor4D;
        const y = tf.fused.depthwiseConv2d({ x: d, filter, strides: 1, pad: 'valid', ...(beta === null ? {} : { bias: tf.reshape(beta, [c]) }) });
        return x.rank === 4 ? y : tf.reshape(y, x.shape);
      });
    },
    channel(x, c) {
      const channels = x.shape[x.rank - 1]!;
      const shape = [...x.shape.slice(0, -1), 1];
      if (tf.getBackend() !== 'wasm') return tf.slice(x, shape.map((_, i) => (i === x.rank - 1 ? c : 0)), shape);
      return tf.tidy(() => {
        const pick = keptTensor(`pick:${channels}:${c}`, () => tf.buffer([channels, 1], 'float32', Float32Array.from({ length: channels }, (_, i) => (i === c ? 1 : 0))).toTensor()) as tf.Tensor2D;
        return tf.reshape(tf.matMul(tf.reshape(x, [x.size / channels, channels]) as tf.Tensor2D, pick), shape);
      });
    },
    convChannel(x, kernel, c) {
      return tf.tidy(() => {
        const [kh, kw, cin] = kernel.shape;
        const column = tf.slice(kernel, [0, 0, 0, c], [kh, kw, cin, 1]);
        if (tf.getBackend() !== 'wasm') return tf.conv2d(x, column, 1, 'same');
        const sum = keptTensor(`sum:${cin}`, () => tf.ones([cin, 1])) as tf.Tensor2D;
        const perInput = tf.depthwiseConv2d(x, column, 1, 'same');
        return tf.reshape(tf.matMul(tf.reshape(perInput, [-1, cin]) as tf.Tensor2D, sum), [x.shape[0], x.shape[1], x.shape[2], 1]);
      });
    },
    dispose() {
      for (const t of kept.values()) t.dispose();
      kept.clear();
    },
  };
}
