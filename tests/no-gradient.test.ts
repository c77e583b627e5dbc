// The reason to pick RSO: a model whose forward pass has an op without a gradient (a hard threshold here)
// cannot be trained by backprop in tfjs, and trains with RSO under both trainers.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { toyData, useCpu } from './helpers.js';
import { NO_GRADIENT_OPS, opMlp } from './no-gradient-models.js';
import type { NoGradientOp } from './no-gradient-models.js';

beforeAll(useCpu);

/** A hard threshold: 1 where x > 0, else 0 (tf.greater has no gradient in tfjs). */
class HardThreshold extends tfl.layers.Layer {
  static get className(): string {
    return 'HardThresholdTest';
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.cast(tf.greater(Array.isArray(inputs) ? inputs[0]! : inputs, 0), 'float32');
  }
}
tf.serialization.registerClass(HardThreshold);

function thresholdNet(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.heNormal({ seed });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 8, kernelInitializer: init(1), biasInitializer: tfl.initializers.randomNormal({ seed: 2, stddev: 0.5 }) }),
      new HardThreshold({}),
      tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

/** XOR-like quadrants: class 1 where x0 · x1 > 0. No linear model separates them. */
function quadrants(n: number, seed: number) {
  return tf.tidy(() => {
    const x = tf.randomUniform([n, 2], -1, 1, 'float32', seed);
    const y = tf.oneHot(tf.cast(tf.greater(tf.prod(x, 1), 0), 'int32'), 2);
    return { x, y: tf.cast(y, 'float32') };
  });
}

const accuracy = (model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) =>
  tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]!);

describe('a model with an op that has no gradient', () => {
  it('cannot be trained by model.fit with SGD: tfjs finds no gradient for Greater', async () => {
    const { x, y } = quadrants(64, 1);
    const model = thresholdNet();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    await expect(model.fit(x, y, { epochs: 1, verbose: 0 })).rejects.toThrow(/gradient function not found for Greater/);
    model.dispose();
    tf.dispose([x, y]);
  });

  for (const trainer of ['model.fit', 'rso.fit'] as const) {
    it(`trains with RSO under ${trainer}`, async () => {
      const { x, y } = quadrants(256, 1);
      const model = thresholdNet();
      const opt = new RSOOptimizer({ seed: 7, cycles: 8 });
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
      const before = accuracy(model, x, y);
      if (trainer === 'model.fit') await model.fit(x, y, { batchSize: 64, epochs: 60, shuffle: false, verbose: 0 });
      else await opt.fit(model, x, y, { batchSize: 64, cycles: 8, verbose: 0 });
      const after = accuracy(model, x, y);
      console.log(`hard-threshold net under ${trainer}: training accuracy ${before.toFixed(3)} → ${after.toFixed(3)} after ${opt.step} steps`);
      expect(after).toBeGreaterThan(Math.max(before, 0.5) + 0.15);
      model.dispose();
      tf.dispose([x, y]);
    });
  }
});

describe('ops that backprop cannot train through, in a hidden layer', () => {
  for (const op of Object.keys(NO_GRADIENT_OPS) as NoGradientOp[]) {
    it(`${op}: SGD fails or leaves the layers below unchanged; RSO trains them under model.fit and rso.fit`, async () => {
      const { x, y } = toyData(96, [8], 21);
      // SGD: tfjs either has no gradient for the op, or its gradient is zero, so nothing below it moves.
      const sgdModel = opMlp(op, 4);
      sgdModel.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
      const below = () => sgdModel.layers[0]!.getWeights().map((w) => Array.from(w.dataSync()));
      const start = below();
      let sgdError = '';
      try {
        await sgdModel.fit(x, y, { batchSize: 32, epochs: 2, verbose: 0 });
      } catch (e) {
        sgdError = (e as Error).message;
      }
      if (sgdError === '') expect(below()).toEqual(start);
      else expect(sgdError).toMatch(/gradient function not found/);
      sgdModel.dispose();
      // RSO moves every layer, through both trainers.
      for (const trainer of ['model.fit', 'rso.fit'] as const) {
        const model = opMlp(op, 4);
        const opt = new RSOOptimizer({ seed: 3, cycles: 4 });
        model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
        const first = model.layers[0]!.getWeights()[0]!.dataSync().slice();
        const before = accuracy(model, x, y);
        if (trainer === 'model.fit') await model.fit(x, y, { batchSize: 32, epochs: 40, shuffle: false, verbose: 0 });
        else await opt.fit(model, x, y, { batchSize: 32, cycles: 4, verbose: 0 });
        const after = accuracy(model, x, y);
        console.log(`${op} under ${trainer}: training accuracy ${before.toFixed(3)} → ${after.toFixed(3)} (${opt.step} steps; SGD: ${sgdError === '' ? 'zero gradient below the op' : 'no gradient'})`);
        expect(Array.from(model.layers[0]!.getWeights()[0]!.dataSync())).not.toEqual(Array.from(first));
        expect(after).toBeGreaterThan(before + 0.1);
        model.dispose();
      }
      tf.dispose([x, y]);
    });
  }
});

describe('a custom layer that declares elementwise = true', () => {
  it('lets the Dense delta path run through it, with the losses of the suffix re-run', async () => {
    const { x, y } = toyData(64, [8], 4);
    const run = async (elementwise: boolean) => {
      const model = opMlp('greater', 5, elementwise);
      const opt = new RSOOptimizer({ seed: 1 });
      const losses: number[][] = [];
      const history = await opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy', batchSize: 32, maxSteps: 120, verbose: 0, engine: 'model', batchNormSamples: 0, shuffle: false,
        callbacks: { onBatchEnd: async () => void losses.push(Array.from(opt.lastStepResult!.losses)) },
      });
      model.dispose();
      return { deltaSteps: Number(history.params['engineDeltaSteps']), losses };
    };
    const [plain, declared] = [await run(false), await run(true)];
    // Without the flag the Dense layer before the op re-runs the suffix; with it, its 30 scalars take the delta path.
    expect(declared.deltaSteps).toBeGreaterThan(plain.deltaSteps);
    declared.losses.forEach((ls, s) => ls.forEach((l, k) => expect(Math.abs(l - plain.losses[s]![k]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(l)))));
    tf.dispose([x, y]);
  });
});

describe('a loss that is not differentiable', () => {
  it('trains a network directly on its error rate (the 0-1 loss), with rso.fit', async () => {
    const { x, y } = toyData(120, [8], 31);
    // The share of examples whose arg-max is wrong: piecewise constant, its gradient is zero or undefined.
    const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [8], units: 6, activation: 'tanh', kernelInitializer: tfl.initializers.heNormal({ seed: 5 }) }),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 6 }) }),
      ],
    });
    const opt = new RSOOptimizer({ seed: 2, cycles: 6 });
    model.compile({ optimizer: opt, loss: errorRate });
    const before = accuracy(model, x, y);
    const history = await opt.fit(model, x, y, { batchSize: 120, cycles: 6, verbose: 0, batchNormSamples: 0 });
    const after = accuracy(model, x, y);
    const losses = history.history['loss'] as number[];
    console.log(`trained on its error rate: accuracy ${before.toFixed(3)} → ${after.toFixed(3)}, error-rate loss per cycle ${losses.map((l) => l.toFixed(3)).join(', ')}`);
    // With the whole set as the batch (and no BN or dropout), the kept loss is exactly 1 − accuracy, and the greedy
    // rule never lets it rise.
    const last = opt.lastStepResult!;
    expect(last.losses[last.accepted]!).toBeCloseTo(1 - after, 5);
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThanOrEqual(losses[i]!));
    expect(after).toBeGreaterThan(before + 0.2);
    model.dispose();
    tf.dispose([x, y]);
  });
});
