import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyDense, toyData, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

/** minimize(f) without varList searches only the trainable variables that f reads. */
describe('RSOOptimizer.minimize without varList', () => {
  it('searches only the model the closure reads; an unrelated model is untouched and not bound', () => {
    const { x, y } = toyData(24, [4]);
    const a = tinyDense(1);
    const b = tinyDense(2);
    const bBefore = weightsOf(b);
    const aBefore = weightsOf(a);
    const opt = new RSOOptimizer({ seed: 4 });
    const loss = () => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, a.apply(x) as tf.Tensor)) as tf.Scalar);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 12; s++) opt.minimize(loss);
    expect(tf.memory().numTensors).toBe(before);
    // Only a's trainable scalars: 4·6 + 6 (dense) + 6 + 6 (BN gamma, beta) + 6·3 + 3 (dense).
    const aScalars = a.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);
    expect(opt.scalarsPerCycle).toBe(aScalars);
    const aLayers = new Set(a.layers.map((l) => l.name));
    for (const g of opt.weightGroups) for (const part of g.name.split('+')) expect(aLayers.has(part)).toBe(true);
    expect(Buffer.from(weightsOf(b).buffer).equals(Buffer.from(bBefore.buffer))).toBe(true);
    expect(Buffer.from(weightsOf(a).buffer).equals(Buffer.from(aBefore.buffer))).toBe(false);
    a.dispose();
    b.dispose();
    tf.dispose([x, y]);
  });

  it('counts a variable read only by ops without a gradient, and leaves out one that is not read', () => {
    const v1 = tf.variable(tf.tensor1d([1, -2]), true, 'varlist_v1/kernel');
    const v2 = tf.variable(tf.tensor1d([0.5, -0.5, 2]), true, 'varlist_v2/kernel');
    const unrelated = tf.variable(tf.tensor1d([3]), true, 'varlist_unrelated/kernel');
    const frozen = tf.variable(tf.tensor1d([5]), false, 'varlist_frozen/kernel');
    const opt = new RSOOptimizer({ seed: 2 });
    const f = () =>
      tf.tidy(() => tf.addN([tf.sum(tf.square(v1)), tf.sum(tf.cast(tf.greater(v2, 0), 'float32')), tf.sum(frozen)]) as tf.Scalar);
    const before = tf.memory().numTensors;
    const l = opt.minimize(f, true)!;
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(opt.weightGroups.map((g) => g.name)).toEqual(['varlist_v1', 'varlist_v2']);
    expect(opt.scalarsPerCycle).toBe(5);
    expect(unrelated.dataSync()[0]).toBe(3);
    tf.dispose([v1, v2, unrelated, frozen]);
  });

  it('the look-up call leaves BN moving statistics as they were: they move once per minimize', () => {
    // BN on the input: after one batch, moving_mean = 0.01 · mean(x) (tfjs momentum 0.99), whatever the weights.
    const model = tfl.sequential({ layers: [tfl.layers.batchNormalization({ inputShape: [3] }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
    const x = tf.tensor2d([[1, 2, 3], [3, 4, 5]]);
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    const opt = new RSOOptimizer({ seed: 1 });
    const before = tf.memory().numTensors;
    opt.minimize(() => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar));
    expect(tf.memory().numTensors).toBe(before);
    const movingMean = model.layers[0]!.weights.find((w) => w.name.includes('moving_mean'))!;
    const got = Array.from(movingMean.read().dataSync());
    [2, 3, 4].forEach((m, i) => expect(got[i]!).toBeCloseTo(0.01 * m, 6));
    model.dispose();
    tf.dispose([x, y]);
  });

  it('a closure that reads no trainable variable is a clear error', () => {
    const opt = new RSOOptimizer();
    expect(() => opt.minimize(() => tf.scalar(1))).toThrow(/the loss closure reads no trainable variable/);
  });
});
