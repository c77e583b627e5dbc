import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { DataLoss } from '../src/engine/model-evaluator.js';

/** The data loss as the model engine computes it in the lockstep tests: mean categorical cross-entropy. */
export const dataLoss: DataLoss = (ys, ps) => tf.mean(tfl.metrics.categoricalCrossentropy(ys[0]!, ps[0]!)) as tf.Scalar;

/**
 * The reference for the engine's losses: each candidate's values written into scalars `flats` of `v`, the whole
 * model run in training mode on the batch; the variable and the BN moving statistics are put back.
 */
export function wholeModelLosses(model: tfl.LayersModel, v: tf.Variable, flats: ArrayLike<number>, candidates: readonly ArrayLike<number>[], x: tf.Tensor, y: tf.Tensor): number[] {
  const moving = model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
  const saved = moving.map((m) => m.dataSync().slice() as Float32Array);
  const original = v.dataSync().slice() as Float32Array;
  const set = (d: Float32Array, target: tf.Variable) => tf.tidy(() => target.assign(tf.tensor(d.slice(), target.shape)));
  const losses = candidates.map((c) => {
    const data = original.slice();
    for (let k = 0; k < flats.length; k++) data[flats[k]!] = c[k]!;
    set(data, v);
    return tf.tidy(() => dataLoss([y], [model.apply(x, { training: true }) as tf.Tensor]).dataSync()[0]!);
  });
  set(original, v);
  moving.forEach((m, i) => set(saved[i]!, m));
  return losses;
}

/** |a − b| relative to the larger magnitude. */
export const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
