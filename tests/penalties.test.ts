import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPenalties } from '../src/engine/penalties.js';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import { RSOOptimizer } from '../src/index.js';
import { resolveLoss } from '../src/train/losses.js';
import { tinyMlp, useCpu } from './helpers.js';
import { sharedDenseMlp } from './shared-models.js';

beforeAll(useCpu);

type RegularizerLike = Parameters<typeof tfl.layers.dense>[0]['kernelRegularizer'];
/** tfjs-layers' Regularizer base class, which the package does not export by name. */
const RegularizerBase = Object.getPrototypeOf(tfl.regularizers.l2().constructor) as new () => object;

/** A regularizer that is not tfjs's L1L2: 0.05 · Σ w⁴. */
class QuarticRegularizer extends RegularizerBase {
  static className = 'QuarticRegularizer';
  apply(x: tf.Tensor): tf.Scalar {
    return tf.tidy(() => tf.mul(0.05, tf.sum(tf.pow(x, 4))));
  }
  getConfig() {
    return {};
  }
  getClassName() {
    return QuarticRegularizer.className;
  }
}

/** tfjs's own total penalty, as `model.fit` adds it. */
const tfjsTotal = (model: tfl.LayersModel) => tf.tidy(() => model.calculateLosses().reduce((s, l) => s + l.dataSync()[0]!, 0));

/** Sets a variable to a copy of `data` (on cpu a tensor made from an array shares it). */
const write = (v: tf.Variable, data: Float32Array) => tf.tidy(() => v.assign(tf.tensor(data.slice(), v.shape)));

function regularizedModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [4] });
  const shared = tfl.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: tfl.initializers.heNormal({ seed: 3 }), kernelRegularizer: tfl.regularizers.l1l2({ l1: 0.01, l2: 0.03 }) });
  let h = shared.apply(input) as tfl.SymbolicTensor;
  h = shared.apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({
    units: 3,
    activation: 'softmax',
    kernelInitializer: tfl.initializers.heNormal({ seed: 4 }),
    kernelRegularizer: new QuarticRegularizer() as unknown as RegularizerLike,
    biasRegularizer: tfl.regularizers.l1({ l1: 0.02 }),
  }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

describe('regularization penalties of the model engine', () => {
  it('are absent (null) for a model without regularizers', () => {
    const model = tinyMlp(1);
    expect(createPenalties(model, model.trainableWeights.map((w) => w.read() as tf.Variable))).toBeNull();
    model.dispose();
  });

  it('equal tfjs calculateLosses with any one scalar changed: L1L2 in closed form, a shared layer counted per call, another class exactly', () => {
    const model = regularizedModel();
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = tf.memory().numTensors;
    const penalties = createPenalties(model, variables)!;
    // Seeded walk: each step picks a tensor and a scalar, compares the three candidates, then keeps one.
    let seed = 5;
    const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let step = 0; step < 60; step++) {
      const t = Math.floor(next() * variables.length);
      const v = variables[t]!;
      const flat = Math.floor(next() * v.size);
      const data = Float32Array.from(v.dataSync() as Float32Array);
      const current = data[flat]!;
      const candidates = Float32Array.from([current, current + 0.3, current - 0.3]);
      const got = penalties.at(t, flat, current, candidates);
      candidates.forEach((c, k) => {
        data[flat] = c;
        write(v, data);
        expect(Math.abs(got[k]! - tfjsTotal(model))).toBeLessThan(1e-5 * Math.max(1, tfjsTotal(model)));
      });
      const kept = candidates[Math.floor(next() * 3)]!;
      data[flat] = kept;
      write(v, data);
      penalties.update(t, flat, current, kept);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('make the evaluator throw a clear error when a penalty cannot be tied to a weight', () => {
    const model = sharedDenseMlp(1);
    // A loss a custom layer could add: no regularizer attribute of the layer accounts for it.
    model.layers[1]!.addLoss(() => tf.scalar(0.5));
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new RSOOptimizer({ seed: 1 });
    opt.bind(variables);
    const lossFn = resolveLoss('categoricalCrossentropy', 'mean');
    expect(() => createModelEvaluator(model, variables, opt.weightGroups, (ys, ps) => lossFn(ys[0]!, ps[0]!))).toThrow(/penalties.*use engine 'closure'/);
    model.dispose();
  });
});
