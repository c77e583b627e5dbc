/**
 * Quantisation-aware training with fixed scales: the forward pass rounds each kernel on the scales of a
 * {@link QuantizedModel} (the same quantizer RSO repairs), the backward pass is the straight-through estimator.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { roundCode } from '../../src/quantize/fit-scale.js';
import type { QuantizedModel } from '../../src/index.js';

/**
 * The STE quantiser of `latent`'s kernels on the scales of `q`: forward clip(round(w / s), −m, m) · s per output
 * channel (binary: ±s by sign), backward the identity. Keyed by the kernel variables of `latent`.
 *
 * @returns A function for `quantizedLogits`, and a disposer of the scale tensors.
 */
export function fixedScaleSte(latent: tfl.LayersModel, q: QuantizedModel): { quantize: (w: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const maxCode = q.bits === 1 ? 1 : 2 ** (q.bits - 1) - 1;
  const byVariable = new Map<tf.Tensor, tf.Tensor>();
  latent.weights.forEach((w) => {
    const kernel = q.kernels.find((k) => k.name.replace(/_\d+$/, '') === w.name.replace(/_\d+$/, ''));
    if (kernel !== undefined) byVariable.set(w.read(), tf.tensor1d(kernel.scales));
  });
  const forward = (w: tf.Tensor, s: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      if (q.bits === 1) return tf.mul(tf.sub(tf.mul(tf.cast(tf.greaterEqual(w, 0), 'float32'), 2), 1), s);
      return tf.mul(tf.clipByValue(tf.round(tf.div(w, s)), -maxCode, maxCode), s);
    });
  const quantize = (w: tf.Tensor): tf.Tensor => {
    const s = byVariable.get(w);
    if (s === undefined) throw new Error(`fixedScaleSte: no scales for the kernel of shape [${w.shape.join(', ')}]`);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: forward(args[0] as tf.Tensor, s), gradFunc: (dy: tf.Tensor) => dy }));
    return op(w);
  };
  return { quantize, dispose: () => tf.dispose([...byVariable.values()]) };
}

/**
 * Writes `latent`'s weights into `deployed` (the same architecture), every kernel of `q` rounded on its scales
 * exactly as the grid rounds (float32 levels code × s), every other weight copied.
 */
export function deployFixedScale(latent: tfl.LayersModel, deployed: tfl.LayersModel, q: QuantizedModel): void {
  const names = new Map(q.kernels.map((k) => [k.name.replace(/_\d+$/, ''), k]));
  const values = latent.weights.map((w) => {
    const v = w.read().dataSync() as Float32Array;
    const k = names.get(w.name.replace(/_\d+$/, ''));
    if (k === undefined) return tf.tensor(v, w.shape as number[]);
    const s = k.scales;
    return tf.tensor(Float32Array.from(v, (x, i) => roundCode(x, s[i % s.length]!, q.bits) * s[i % s.length]!), w.shape as number[]);
  });
  deployed.setWeights(values);
  tf.dispose(values);
}
