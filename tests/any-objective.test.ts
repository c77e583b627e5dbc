// Any objective: RSO minimises whatever number the closure returns. Losses that have no useful gradient (the
// 0-1 error, the top-k error, 1 − F1) train a network under rso.fit and model.fit, and minimize(f, varList)
// improves the outcome of a simulation that is no model's loss.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

/** The 0-1 loss per example: 1 where the arg-max of the prediction is not the true class. */
const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');

/** The top-k error per example: 1 where the true class is not among the k largest predictions. */
const topKError = (k: number) => (yt: tf.Tensor, yp: tf.Tensor) => {
  const { indices } = tf.topk(yp, k);
  const hit = tf.any(tf.equal(indices, tf.expandDims(tf.cast(tf.argMax(yt, -1), 'int32'), 1)), 1);
  return tf.sub(1, tf.cast(hit, 'float32'));
};

/** 1 − F1 of the positive class (column 1) over the whole batch, from hard arg-max decisions: one scalar. */
const oneMinusF1 = (yt: tf.Tensor, yp: tf.Tensor) => {
  const predicted = tf.cast(tf.equal(tf.argMax(yp, -1), 1), 'float32');
  const actual = tf.cast(tf.equal(tf.argMax(yt, -1), 1), 'float32');
  const tp = tf.sum(tf.mul(predicted, actual));
  // F1 = 2TP / (2TP + FP + FN) = 2TP / (predicted positives + actual positives).
  return tf.sub(1, tf.div(tf.mul(2, tp), tf.maximum(tf.add(tf.sum(predicted), tf.sum(actual)), 1)));
};

/**
 * Seeded classification data: 8 normal features, labels from a fixed random map with a tanh hidden layer (so a
 * linear model does not reach 0 error), the first `n` rows for training and the rest for testing.
 */
function classData(n: number, nTest: number, classes: number, seed: number, bias: readonly number[] = []) {
  return tf.tidy(() => {
    const x = tf.randomNormal([n + nTest, 8], 0, 1, 'float32', seed);
    const h = tf.tanh(tf.matMul(x, tf.randomNormal([8, 6], 0, 1, 'float32', seed + 1)));
    const scores = tf.add(tf.matMul(h, tf.randomNormal([6, classes], 0, 1, 'float32', seed + 2)), tf.tensor1d(Array.from({ length: classes }, (_, c) => bias[c] ?? 0)));
    const y = tf.cast(tf.oneHot(tf.argMax(scores, 1), classes), 'float32');
    const split = (t: tf.Tensor) => [tf.slice(t, 0, n), tf.slice(t, n, nTest)] as const;
    const [xTrain, xTest] = split(x);
    const [yTrain, yTest] = split(y);
    return { xTrain, yTrain, xTest, yTest };
  });
}

/**
 * 8 → 8 (tanh) → classes, seeded. These losses read only the arg-max or the top k of the output, which a softmax
 * does not change, so the output stays linear (a softmax is the slowest op of this net on the cpu backend).
 */
function mlp(classes: number, seed: number): tfl.Sequential {
  const init = (k: number) => tfl.initializers.glorotNormal({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [8], units: 8, activation: 'tanh', kernelInitializer: init(1) }),
      tfl.layers.dense({ units: classes, kernelInitializer: init(2) }),
    ],
  });
}

/** The mean of a per-example (or whole-batch) loss on a data set, in inference mode. */
const lossOn = (loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.Tensor, model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) =>
  tf.tidy(() => tf.mean(loss(y, model.predict(x, { batchSize: 4096 }) as tf.Tensor)).dataSync()[0]!);

/** The number of trainable scalars of a model. */
const scalarsOf = (model: tfl.LayersModel) => model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);

/** The share of the most frequent class: the error of always answering it is 1 minus this. */
const majorityShare = (y: tf.Tensor) => tf.tidy(() => tf.max(tf.mean(y, 0)).dataSync()[0]!);

describe('a network trained directly on its error rate (the 0-1 loss)', () => {
  const N = 1000;
  const BATCH = 500;
  const CYCLES = 3;

  it('Adam cannot: tfjs has no gradient for the loss', async () => {
    const { xTrain, yTrain, xTest, yTest } = classData(64, 8, 3, 11);
    const model = mlp(3, 1);
    model.compile({ optimizer: tf.train.adam(0.01), loss: errorRate });
    await expect(model.fit(xTrain, yTrain, { epochs: 1, verbose: 0 })).rejects.toThrow(/gradient function not found for NotEqual/);
    model.dispose();
    tf.dispose([xTrain, yTrain, xTest, yTest]);
  });

  for (const trainer of ['rso.fit', 'model.fit'] as const) {
    it(`RSO under ${trainer} takes the held-out error far below chance (seed 11, batch ${BATCH})`, async () => {
      const { xTrain, yTrain, xTest, yTest } = classData(N, 1000, 3, 11);
      const chance = 1 - majorityShare(yTest);
      const model = mlp(3, 1);
      const opt = new RSOOptimizer({ seed: 5, cycles: CYCLES });
      model.compile({ optimizer: opt, loss: errorRate });
      const before = tf.memory().numTensors;
      const errBefore = lossOn(errorRate, model, xTest, yTest);
      let engine = 'closure';
      if (trainer === 'rso.fit') {
        const history = await opt.fit(model, xTrain, yTrain, { batchSize: BATCH, cycles: CYCLES, verbose: 0, batchNormSamples: 0 });
        engine = String(history.params['engine']);
      } else {
        // One RSO step per batch: as many steps as rso.fit's cycles take.
        const epochs = Math.ceil((CYCLES * scalarsOf(model)) / (N / BATCH));
        await model.fit(xTrain, yTrain, { batchSize: BATCH, epochs, shuffle: false, verbose: 0 });
      }
      const errAfter = lossOn(errorRate, model, xTest, yTest);
      expect(tf.memory().numTensors).toBe(before);
      console.log(`0-1 loss under ${trainer} (${engine} path): held-out error ${errBefore.toFixed(3)} → ${errAfter.toFixed(3)} after ${opt.step} steps; majority-class error ${chance.toFixed(3)}`);
      // The model engine takes a loss function: it evaluates it on the layers above the searched one.
      if (trainer === 'rso.fit') expect(engine).toBe('model');
      expect(errAfter).toBeLessThan(chance / 2);
      model.dispose();
      tf.dispose([xTrain, yTrain, xTest, yTest]);
    });
  }
});

describe('other losses without a useful gradient', () => {
  it('the top-2 error of a 6-class task falls far below chance (seed 21, batch 500)', async () => {
    const { xTrain, yTrain, xTest, yTest } = classData(1000, 1000, 6, 21);
    const topTwo = topKError(2);
    // Always answering the two most frequent classes.
    const chance = tf.tidy(() => 1 - tf.sum(tf.topk(tf.mean(yTest, 0), 2).values).dataSync()[0]!);
    const model = mlp(6, 2);
    const opt = new RSOOptimizer({ seed: 6, cycles: 3 });
    model.compile({ optimizer: opt, loss: topTwo });
    const before = tf.memory().numTensors;
    const errBefore = lossOn(topTwo, model, xTest, yTest);
    await opt.fit(model, xTrain, yTrain, { batchSize: 500, cycles: 3, verbose: 0, batchNormSamples: 0 });
    const errAfter = lossOn(topTwo, model, xTest, yTest);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`top-2 error loss: held-out top-2 error ${errBefore.toFixed(3)} → ${errAfter.toFixed(3)} after ${opt.step} steps; two-most-frequent-classes error ${chance.toFixed(3)}`);
    expect(errAfter).toBeLessThan(chance / 2);
    model.dispose();
    tf.dispose([xTrain, yTrain, xTest, yTest]);
  });

  it('1 − F1 on an imbalanced binary task (a whole-batch loss, not per example) raises the held-out F1 (seed 31, batch 500)', async () => {
    const { xTrain, yTrain, xTest, yTest } = classData(1000, 1000, 2, 31, [1.2, 0]);
    const positives = tf.tidy(() => tf.mean(tf.slice(yTest, [0, 1], [-1, 1])).dataSync()[0]!);
    // F1 of answering "positive" everywhere: precision p, recall 1.
    const allPositive = (2 * positives) / (1 + positives);
    const model = mlp(2, 3);
    const opt = new RSOOptimizer({ seed: 7, cycles: 3 });
    model.compile({ optimizer: opt, loss: oneMinusF1 });
    const before = tf.memory().numTensors;
    const f1Before = 1 - lossOn(oneMinusF1, model, xTest, yTest);
    await opt.fit(model, xTrain, yTrain, { batchSize: 500, cycles: 3, verbose: 0, batchNormSamples: 0 });
    const f1After = 1 - lossOn(oneMinusF1, model, xTest, yTest);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`1 − F1 loss: positives ${(100 * positives).toFixed(1)}%; held-out F1 ${f1Before.toFixed(3)} → ${f1After.toFixed(3)} after ${opt.step} steps; all-positive F1 ${allPositive.toFixed(3)}`);
    expect(f1After).toBeGreaterThan(Math.max(f1Before, allPositive) + 0.2);
    model.dispose();
    tf.dispose([xTrain, yTrain, xTest, yTest]);
  });
});

/** Where a ball thrown from 1 m up with velocity (vx, vy) first falls below the ground, on a 0.01 s time grid. */
const GRID = tf.tidy(() => tf.keep(tf.range(0, 4, 0.01)));
const TARGET = 10; // metres: the bin the ball should land in

/** The outcome, in tfjs ops reading the variable: the miss distance |landing point − 10|. */
function missDistance(v: tf.Variable): tf.Scalar {
  return tf.tidy(() => {
    const vx = tf.slice(v, 0, 1);
    const vy = tf.slice(v, 1, 1);
    const height = tf.sub(tf.add(1, tf.mul(vy, GRID)), tf.mul(4.9, tf.square(GRID)));
    // The first grid time below ground: an arg-max over a boolean mask, which has no gradient.
    const landing = tf.argMax(tf.cast(tf.less(height, 0), 'int32'));
    const t = tf.gather(GRID, landing);
    return tf.reshape(tf.abs(tf.sub(tf.mul(vx, t), TARGET)), []) as tf.Scalar;
  });
}

/** The same outcome computed on the host from the variable's values, as a simulation in plain code would be. */
function missDistanceOnHost(v: tf.Variable): number {
  const [vx, vy] = v.dataSync() as Float32Array;
  for (let k = 0; ; k++) {
    const t = k * 0.01;
    if (1 + vy! * t - 4.9 * t * t < 0) return Math.abs(vx! * t - TARGET);
  }
}

describe('minimize(f, varList) on an objective that is no model loss', () => {
  const throwRuns = (opt: RSOOptimizer, f: () => tf.Scalar, varList?: tf.Variable[]) => {
    for (let s = 0; s < 60; s++) opt.minimize(f, false, varList);
  };

  it('improves a simulated throw; without varList it searches exactly the variable f reads, and makes the same decisions (seed 8)', () => {
    const before = tf.memory().numTensors;
    const [a, b, unrelated] = tf.tidy(() => [
      tf.variable(tf.tensor1d([3, 3]), true, 'throw_a/velocity'),
      tf.variable(tf.tensor1d([3, 3]), true, 'throw_b/velocity'),
      tf.variable(tf.tensor1d([1, 2]), true, 'unrelated/kernel'),
    ]);
    const start = missDistance(a);
    const missBefore = start.dataSync()[0]!;
    start.dispose();
    const optA = new RSOOptimizer({ seed: 8, sigmaBase: 1, cycles: 30 });
    const optB = new RSOOptimizer({ seed: 8, sigmaBase: 1, cycles: 30 });
    throwRuns(optA, () => missDistance(a));
    throwRuns(optB, () => missDistance(b), [b]);
    const end = missDistance(a);
    const missAfter = end.dataSync()[0]!;
    end.dispose();
    console.log(`simulated throw: miss ${missBefore.toFixed(2)} m → ${missAfter.toFixed(2)} m in ${optA.step} steps; velocity ${Array.from(a.dataSync(), (x) => x.toFixed(2)).join(', ')}`);
    expect(missAfter).toBeLessThan(missBefore / 10);
    expect(optA.scalarsPerCycle).toBe(2);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(unrelated.dataSync())).toEqual([1, 2]);
    expect(optA.weightGroups.map((g) => g.name)).toEqual(['throw_a']);
    tf.dispose([a, b, unrelated]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a simulation run on the host needs varList: f reads the weights with dataSync, which tfjs does not record', () => {
    const before = tf.memory().numTensors;
    const v = tf.tidy(() => tf.variable(tf.tensor1d([3, 3]), true, 'host_throw/velocity'));
    const f = () => tf.scalar(missDistanceOnHost(v));
    const opt = new RSOOptimizer({ seed: 8, sigmaBase: 1, cycles: 30 });
    expect(() => opt.minimize(f)).toThrow(/reads no trainable variable/);
    const missBefore = missDistanceOnHost(v);
    throwRuns(opt, f, [v]);
    const missAfter = missDistanceOnHost(v);
    console.log(`host-side throw: miss ${missBefore.toFixed(2)} m → ${missAfter.toFixed(2)} m in ${opt.step} steps`);
    expect(missAfter).toBeLessThan(missBefore / 10);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
