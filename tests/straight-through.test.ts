// The straight-through estimators of the issue-14 benchmarks (examples/lib/straight-through.ts): the forward
// pass must be exactly the hard value, and the backward pass exactly the surrogate.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMnistNet } from '../src/paper/index.js';
import {
  ThresholdLayer,
  binaryQuantize,
  hardThreshold,
  steQuantizer,
  steThreshold,
  ternaryQuantize,
} from '../examples/lib/straight-through.js';
import { copyQuantized, distinctKernelValues, quantizedLogits } from '../examples/lib/quantized-net.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

// `+ 0` turns -0 (sign(w) · 0) into 0 for toEqual.
const values = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);

describe('hard threshold', () => {
  const x = [-2, -1, -0.5, 0, 0.5, 1, 1.5];

  it('is 1{x > 0} forward, with and without the STE', () => {
    tf.tidy(() => {
      expect(values(hardThreshold(tf.tensor1d(x)))).toEqual([0, 0, 0, 0, 1, 1, 1]);
      expect(values(steThreshold(tf.tensor1d(x)))).toEqual([0, 0, 0, 0, 1, 1, 1]);
    });
  });

  it('has the clipped identity as its STE gradient: dL/dx = dL/dy · 1{|x| ≤ 1}', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      // L = Σ c_i · H(x_i) with c = 1..7, so dL/dy = c and dL/dx = c where |x| ≤ 1: [0, 2, 3, 4, 5, 6, 0].
      const c = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, steThreshold(t))))(tf.tensor1d(x));
      expect(values(g)).toEqual([0, 2, 3, 4, 5, 6, 0]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has no gradient without the STE (tfjs finds none for Greater)', () => {
    expect(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(hardThreshold(t)))(tf.tensor1d(x)))).toThrow(/gradient function not found for Greater/);
  });

  it('as a layer: model.fit with SGD fails without the STE and trains with it; the config round-trips', async () => {
    const xs = tf.randomNormal([64, 4], 0, 1, 'float32', 3);
    const ys = tf.oneHot(tf.cast(tf.greater(tf.sum(xs, 1), 0), 'int32'), 2);
    const net = (ste: boolean) =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [4], units: 8, kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
          new ThresholdLayer({ ste }),
          tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
        ],
      });
    const plain = net(false);
    plain.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    await expect(plain.fit(xs, ys, { epochs: 1, verbose: 0 })).rejects.toThrow(/gradient function not found for Greater/);
    const ste = net(true);
    ste.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    const h = await ste.fit(xs, ys, { epochs: 30, batchSize: 64, verbose: 0, shuffle: false });
    const loss = h.history['loss'] as number[];
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]! - 0.1);
    expect((ste.layers[1] as ThresholdLayer).getConfig()['ste']).toBe(true);
    const reloaded = await tfl.models.modelFromJSON({ modelTopology: ste.toJSON(null, false) } as Parameters<typeof tfl.models.modelFromJSON>[0]);
    expect((reloaded.layers[1] as ThresholdLayer).ste).toBe(true);
    tf.dispose([xs, ys]);
    [plain, ste, reloaded].forEach((m) => m.dispose());
  });
});

describe('weight quantisers', () => {
  it('ternary: α · sign(w) · 1{|w| > 0.7 · mean|w|}', () => {
    // mean|w| = (1 + 0.1 + 2 + 0.2) / 4 = 0.825, threshold 0.5775: 1 and -2 are kept, α = (1 + 2) / 2 = 1.5.
    tf.tidy(() => {
      expect(values(ternaryQuantize(tf.tensor1d([1, -0.1, -2, 0.2])))).toEqual([1.5, 0, -1.5, 0]);
    });
  });

  it('binary: mean|w| · sign(w), zeros to +mean|w|', () => {
    // mean|w| = (1 + 3 + 0) / 3 = 4/3.
    tf.tidy(() => {
      const q = values(binaryQuantize(tf.tensor1d([1, -3, 0])));
      [4 / 3, -4 / 3, 4 / 3].forEach((v, i) => expect(q[i]).toBeCloseTo(v, 5));
    });
  });

  for (const name of ['ternary', 'binary'] as const) {
    it(`${name} STE: the forward is the quantised tensor, the gradient the identity`, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const w = tf.tensor1d([0.3, -0.05, -1.2, 0.9, 0.01]);
        const c = tf.tensor1d([1, -2, 3, -4, 5]);
        const exact = name === 'ternary' ? ternaryQuantize(w) : binaryQuantize(w);
        expect(values(steQuantizer(name)(w))).toEqual(values(exact));
        // L = Σ c_i · q(w)_i, so under the STE dL/dw = c.
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, steQuantizer(name)(t))))(w);
        expect(values(g)).toEqual([1, -2, 3, -4, 5]);
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('the paper network run by hand (quantisation-aware training)', () => {
  it('with the identity as quantiser, equals the model in training mode; copyQuantized makes ternary kernels', () => {
    const model = createMnistNet({ seed: 5, filters: 3, blocks: 4 });
    const deployed = createMnistNet({ seed: 6, filters: 3, blocks: 4 });
    tf.tidy(() => {
      const x = tf.randomNormal([6, 28, 28, 1], 0, 1, 'float32', 9);
      const ours = tf.softmax(quantizedLogits(model, x, (w) => w));
      const theirs = model.apply(x, { training: true }) as tf.Tensor;
      const err = tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]!;
      expect(err).toBeLessThan(1e-5);
    });
    copyQuantized(model, deployed, ternaryQuantize);
    for (const count of Object.values(distinctKernelValues(deployed))) expect(count).toBeLessThanOrEqual(3);
    const gammaBefore = model.layers.find((l) => l.name === 'block0_bn')!.getWeights()[0]!.dataSync();
    const gammaAfter = deployed.layers.find((l) => l.name === 'block0_bn')!.getWeights()[0]!.dataSync();
    expect(Array.from(gammaAfter)).toEqual(Array.from(gammaBefore));
    model.dispose();
    deployed.dispose();
  });
});
