import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, constantSchedule, registerPolicy } from '../src/index.js';
import type { LayerOrder, PerturbationDistribution, PolicyConfig } from '../src/index.js';
import { tinyDense, tinyResidual, toyData, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

describe('RSOOptimizer as a tf.Optimizer', () => {
  it('passes instanceof tf.Optimizer and compiles into a LayersModel', () => {
    const opt = new RSOOptimizer();
    expect(opt instanceof tf.Optimizer).toBe(true);
    const model = tinyDense();
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    expect(model.optimizer).toBe(opt);
    model.dispose();
  });

  it('refuses gradients with a clear message', () => {
    const opt = new RSOOptimizer();
    expect(() => opt.computeGradients()).toThrow(/gradient-free/);
    expect(() => opt.applyGradients()).toThrow(/gradient-free/);
  });

  it('minimize returns the kept loss as a scalar tensor and leaks nothing', () => {
    const v = tf.variable(tf.tensor1d([3]), true, 'minimize-test-v');
    const opt = new RSOOptimizer({ seed: 1, sigmaBase: 1, sigma: constantSchedule() });
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const l = opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, true, [v])!;
      expect(l.rank).toBe(0);
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v])).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
    // Greedy: the loss never increases, and it went down from 9.
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThanOrEqual(losses[i - 1]!);
    expect(losses[losses.length - 1]!).toBeLessThan(9);
    v.dispose();
  });

  it('trains a Sequential model under model.fit, with metrics, without leaking', async () => {
    const { x, y } = toyData(120, [4]);
    const model = tinyDense(3);
    model.compile({ optimizer: new RSOOptimizer({ seed: 2, cycles: 4 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const before = tf.memory().numTensors;
    const h = await model.fit(x, y, { batchSize: 20, epochs: 12, shuffle: false, verbose: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const loss = h.history['loss'] as number[];
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]! * 0.8);
    expect((h.history['acc'] as number[]).length).toBe(12);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('trains a functional conv net with BN and a residual add (fit and trainOnBatch, with metrics)', async () => {
    const { x, y } = toyData(64, [6, 6, 1]);
    const model = tinyResidual(2);
    const opt = new RSOOptimizer({ seed: 5, cycles: 3 });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const firstEval = (await model.evaluate(x, y)) as tf.Scalar[];
    const first = firstEval[0]!.dataSync()[0]!;
    tf.dispose(firstEval);
    const before = tf.memory().numTensors;
    await model.fit(x, y, { batchSize: 16, epochs: 10, shuffle: false, verbose: 0 });
    const out = await model.trainOnBatch(x, y);
    // trainOnBatch returns the loss, then one accuracy per closure call (3 per step: w, w+Δ, w−Δ).
    expect(Array.isArray(out) && out.length).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
    const evalOut = (await model.evaluate(x, y)) as tf.Scalar[];
    const last = evalOut[0]!.dataSync()[0]!;
    tf.dispose(evalOut);
    expect(last).toBeLessThan(first);
    expect(opt.step).toBe(41);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('updates BN moving statistics once per batch, not once per candidate', async () => {
    // BN sits on the input, so its batch mean does not depend on any searched weight:
    // after one batch, moving_mean = 0.99 · 0 + 0.01 · mean(x) (tfjs momentum 0.99).
    // Three updates would give (1 − 0.99³) · mean(x) ≈ 0.0297 · mean(x).
    const model = tfl.sequential({
      layers: [tfl.layers.batchNormalization({ inputShape: [3] }), tfl.layers.dense({ units: 2, activation: 'softmax' })],
    });
    model.compile({ optimizer: new RSOOptimizer({ seed: 1, stepsPerBatch: 4 }), loss: 'categoricalCrossentropy' });
    const x = tf.tensor2d([[1, 2, 3], [3, 4, 5]]);
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    await model.trainOnBatch(x, y);
    const movingMean = model.layers[0]!.weights.find((w) => w.name.includes('moving_mean'))!;
    const got = Array.from(movingMean.read().dataSync());
    [2, 3, 4].forEach((m, i) => expect(got[i]!).toBeCloseTo(0.01 * m, 6));
    model.dispose();
    tf.dispose([x, y]);
  });

  it('plugs in custom policies that implement the interfaces', async () => {
    const draws: number[] = [];
    const twoPoint: PerturbationDistribution = {
      sample: (rng) => {
        const v = rng.next() < 0.5 ? 0.5 : 2;
        draws.push(v);
        return v;
      },
    };
    const visited: string[] = [];
    const lastFirst: LayerOrder = {
      order: (groups) => {
        visited.push(groups.map((g) => g.name).join('|'));
        return groups.map((_, i) => i);
      },
    };
    const { x, y } = toyData(40, [4]);
    const model = tinyDense();
    const opt = new RSOOptimizer({ seed: 3, distribution: twoPoint, layerOrder: lastFirst });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { batchSize: 10, epochs: 2, shuffle: false, verbose: 0 });
    expect(draws.length).toBe(8);
    expect(draws.every((d) => d === 0.5 || d === 2)).toBe(true);
    expect(visited.length).toBe(1);
    // inputToOutput order: the first steps hit the first Dense kernel.
    expect(opt.lastStepResult!.tensor).toBe(0);
    expect(() => opt.getConfig()).toThrow(/"distribution" policy is a custom one without a config/);
    model.dispose();
    tf.dispose([x, y]);
  });
});

describe('configuration', () => {
  it('round-trips getConfig → fromConfig, including through tfjs serialization', () => {
    const opt = new RSOOptimizer({
      seed: 7,
      cycles: 12,
      sigma: { name: 'cosine', from: 1, to: 0.2 },
      sigmaBase: 'he',
      bnSigma: 0.167,
      distribution: { name: 'discrete', values: [0.5, 1] },
      layerOrder: { name: 'shuffled' },
      stepsPerBatch: 3,
      coordinates: { name: 'randomSubset', fraction: 0.5 },
      weightDecay: 1e-4,
    });
    const config = opt.getConfig();
    expect(RSOOptimizer.fromConfig(RSOOptimizer, config).getConfig()).toEqual(config);
    const json = JSON.parse(JSON.stringify({ className: RSOOptimizer.className, config }));
    const revived = tf.serialization.SerializationMap.getMap().classNameMap[json.className]!;
    expect((revived[1](revived[0], json.config) as RSOOptimizer).getConfig()).toEqual(config);
    expect(opt.getClassName()).toBe('RSOOptimizer');
    const shares = new RSOOptimizer({ coordinates: { name: 'randomSubset', fraction: [0.25, 1] } }).getConfig();
    expect(RSOOptimizer.fromConfig(RSOOptimizer, shares).getConfig()).toEqual(shares);
    expect(shares['coordinates']).toEqual({ name: 'randomSubset', fraction: [0.25, 1] });
  });

  it('user-registered policies serialize by name', () => {
    const halving = (c: PolicyConfig) => Object.assign((n: number) => 0.5 ** n, { config: c });
    registerPolicy('schedule', 'halving', halving);
    const opt = new RSOOptimizer({ sigma: halving({ name: 'halving' }) });
    const again = RSOOptimizer.fromConfig(RSOOptimizer, opt.getConfig()) as RSOOptimizer;
    expect(again.config.sigma(3)).toBe(0.125);
  });

  it('rejects bad input with errors that name the field and the value', () => {
    expect(() => new RSOOptimizer({ sigmaBase: -0.1 })).toThrow(/sigmaBase must be > 0, got -0.1/);
    expect(() => new RSOOptimizer({ sigmaBase: Infinity })).toThrow(/sigmaBase must be a finite number, got Infinity/);
    expect(() => new RSOOptimizer({ bnSigma: NaN })).toThrow(/bnSigma must be a finite number, got NaN/);
    expect(() => new RSOOptimizer({ cycles: 0 })).toThrow(/cycles must be an integer ≥ 1, got 0/);
    expect(() => new RSOOptimizer({ stepsPerBatch: 0 })).toThrow(/stepsPerBatch must be an integer ≥ 1, got 0/);
    expect(() => new RSOOptimizer({ weightDecay: 1 })).toThrow(/weightDecay must be < 1, got 1/);
    expect(() => new RSOOptimizer({ distribution: { name: 'cauchy' } })).toThrow(/distribution: unknown distribution "cauchy"; known: normal/);
    expect(() => new RSOOptimizer({ layerOrder: { name: 'middleOut' } })).toThrow(/layerOrder: unknown layerOrder "middleOut"/);
    expect(() => new RSOOptimizer({ sigmaBase: 'xavier' as 'he' })).toThrow(/sigmaBase: unknown rule "xavier"/);
    expect(() => new RSOOptimizer({ sigmaa: 1 } as object)).toThrow(/unknown field "sigmaa"/);
  });

  it('rejects a model with no trainable weights', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2] })] });
    model.compile({ optimizer: new RSOOptimizer(), loss: 'meanSquaredError' });
    const x = tf.ones([2, 2, 2]);
    const y = tf.ones([2, 4]);
    await expect(model.trainOnBatch(x, y)).rejects.toThrow(/no trainable weights/);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('is bit-identical for the same seed and differs for another seed', async () => {
    const run = async (seed: number) => {
      const { x, y } = toyData(60, [4]);
      const model = tinyDense(9);
      model.compile({ optimizer: new RSOOptimizer({ seed }), loss: 'categoricalCrossentropy' });
      await model.fit(x, y, { batchSize: 15, epochs: 5, shuffle: false, verbose: 0 });
      const w = weightsOf(model);
      model.dispose();
      tf.dispose([x, y]);
      return w;
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });
});
