// rso.fit trains the model's own objective: the compiled loss (by name or function, one or several outputs, with
// loss weights), the regularizer penalties, and the model's inputs and outputs as model.fit takes them.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

const init = (seed: number) => tfl.initializers.heNormal({ seed });

/** One step on the whole data set: returns the loss rso.fit computed for the unchanged weights (candidate 0). */
async function firstLoss(model: tfl.LayersModel, opt: RSOOptimizer, x: tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>, y: tf.Tensor | tf.Tensor[], extra: object = {}) {
  const n = (x instanceof tf.Tensor ? x : Object.values(x)[0]!).shape[0]!;
  await opt.fit(model, x, y, { batchSize: n, maxSteps: 1, shuffle: false, verbose: 0, batchNormSamples: 0, ...extra });
  return opt.lastStepResult!.losses[0]!;
}

/** The same objective computed by hand from the model's predictions (training mode). */
const byHand = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync()[0]!);

function regression(seed: number): tfl.LayersModel {
  return tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2, kernelInitializer: init(seed) })] });
}

describe('rso.fit: the objective is the compiled model\'s', () => {
  for (const engine of ['closure', 'auto'] as const) {
    it(`uses the compiled loss when none is given: MSE, binary and sparse cross-entropy, a function (${engine})`, async () => {
      const { x } = toyData(30, [4], 3);
      const target = tf.tidy(() => tf.matMul(x, tf.ones([4, 2])));
      const cases: [string, () => tfl.LayersModel, tf.Tensor, unknown, (p: tf.Tensor) => tf.Tensor][] = [
        ['meanSquaredError', () => regression(1), target, 'meanSquaredError', (p) => tf.mean(tf.square(tf.sub(p, target)))],
        [
          'binaryCrossentropy',
          () => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 1, activation: 'sigmoid', kernelInitializer: init(2) })] }),
          tf.tidy(() => tf.cast(tf.greater(tf.slice(x, [0, 0], [-1, 1]), 0), 'float32')),
          'binaryCrossentropy',
          (p) => tf.mean(tfl.metrics.binaryCrossentropy(tf.cast(tf.greater(tf.slice(x, [0, 0], [-1, 1]), 0), 'float32'), p)),
        ],
        [
          'sparseCategoricalCrossentropy',
          () => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 4, activation: 'softmax', kernelInitializer: init(3) })] }),
          tf.tidy(() => tf.cast(tf.argMax(x, 1), 'float32')),
          'sparseCategoricalCrossentropy',
          (p) => tf.mean(tf.neg(tf.log(tf.sum(tf.mul(tf.oneHot(tf.argMax(x, 1), 4), p), 1)))),
        ],
        ['a loss function', () => regression(4), target, (yt: tf.Tensor, yp: tf.Tensor) => tf.mean(tf.abs(tf.sub(yt, yp)), -1), (p) => tf.mean(tf.abs(tf.sub(p, target)))],
      ];
      for (const [name, build, y, loss, expected] of cases) {
        const model = build();
        const opt = new RSOOptimizer({ seed: 1 });
        model.compile({ optimizer: opt, loss: loss as string });
        const want = byHand(() => expected(model.apply(x, { training: true }) as tf.Tensor));
        const got = await firstLoss(model, opt, x, y, { engine });
        expect(Math.abs(got - want), name).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
        model.dispose();
      }
      tf.dispose([x, ...new Set(cases.map((c) => c[2]))]);
    });
  }

  it('refuses an uncompiled model without a loss, and a loss other than the compiled one, before any step', async () => {
    const { x, y } = toyData(20, [4]);
    const model = tinyDense();
    const opt = new RSOOptimizer();
    await expect(opt.fit(model, x, y, { verbose: 0 })).rejects.toThrow(/not compiled and no loss was given/);
    expect(model.optimizer).toBeUndefined();
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await expect(opt.fit(model, x, y, { verbose: 0, loss: 'meanSquaredError' })).rejects.toThrow(/compiled with loss "categoricalCrossentropy" but loss "meanSquaredError"/);
    await expect(opt.fit(model, x, y, { verbose: 0, loss: 'meanSquaredErorr' as 'meanSquaredError' })).rejects.toThrow(/did you mean "meanSquaredError"/);
    expect(opt.step).toBe(0);
    model.dispose();
    tf.dispose([x, y]);
  });

  for (const engine of ['closure', 'auto'] as const) {
    it(`adds kernel and bias regularizer penalties, as model.fit does (${engine})`, async () => {
      const { x, y } = toyData(24, [4], 5);
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [4], units: 5, activation: 'relu', kernelInitializer: init(5), kernelRegularizer: tfl.regularizers.l2({ l2: 0.1 }) }),
          tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(6), biasInitializer: 'ones', biasRegularizer: tfl.regularizers.l1({ l1: 0.05 }) }),
        ],
      });
      const opt = new RSOOptimizer({ seed: 2 });
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
      const data = byHand(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)));
      const penalty = byHand(() => tf.addN(model.calculateLosses()));
      expect(penalty).toBeGreaterThan(0.1);
      const got = await firstLoss(model, opt, x, y, { engine });
      expect(Math.abs(got - (data + penalty))).toBeLessThan(1e-4);
      model.dispose();
      tf.dispose([x, y]);
    });
  }

  for (const engine of ['closure', 'auto'] as const) {
    it(`takes several inputs and outputs as tensors, arrays or maps by name, with loss weights (${engine})`, async () => {
      const a = tfl.input({ shape: [3], name: 'a' });
      const b = tfl.input({ shape: [2], name: 'b' });
      const joined = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
      const hidden = tfl.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: init(7) }).apply(joined) as tfl.SymbolicTensor;
      const cls = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'cls', kernelInitializer: init(8) }).apply(hidden) as tfl.SymbolicTensor;
      const reg = tfl.layers.dense({ units: 1, name: 'reg', kernelInitializer: init(9) }).apply(b) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: [a, b], outputs: [cls, reg] });
      const xa = tf.randomNormal([16, 3], 0, 1, 'float32', 1);
      const xb = tf.randomNormal([16, 2], 0, 1, 'float32', 2);
      const yc = tf.tidy(() => tf.cast(tf.oneHot(tf.cast(tf.greater(tf.sum(xa, 1), 0), 'int32'), 2), 'float32'));
      const yr = tf.tidy(() => tf.sum(xb, 1, true));
      const opt = new RSOOptimizer({ seed: 3 });
      model.compile({ optimizer: opt, loss: { cls: 'categoricalCrossentropy', reg: 'meanSquaredError' } });
      const want = byHand(() => {
        const [pc, pr] = model.apply([xa, xb], { training: true }) as tf.Tensor[];
        return tf.add(tf.mean(tfl.metrics.categoricalCrossentropy(yc, pc!)), tf.mul(0.5, tf.mean(tf.square(tf.sub(pr!, yr)))));
      });
      const got = await firstLoss(model, opt, { b: xb, a: xa }, [yc, yr], { engine, lossWeights: { reg: 0.5 } });
      expect(Math.abs(got - want)).toBeLessThan(1e-4);
      // Training goes on with the inputs in order as an array.
      const history = await opt.fit(model, [xa, xb], [yc, yr], { batchSize: 8, maxSteps: 20, verbose: 0, engine, batchNormSamples: 0 });
      expect(history.history['loss']!.every(Number.isFinite)).toBe(true);
      await expect(opt.fit(model, { a: xa, c: xb }, [yc, yr], { verbose: 0 })).rejects.toThrow(/no input named "c"/);
      model.dispose();
      tf.dispose([xa, xb, yc, yr]);
    });
  }
});
