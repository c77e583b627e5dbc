import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import type { DataLoss } from '../src/engine/model-evaluator.js';
import { RSOOptimizer } from '../src/index.js';
import type { CandidateEvaluator } from '../src/index.js';
import { useCpu } from './helpers.js';
import '@tensorflow/tfjs-backend-wasm';

beforeAll(useCpu);

type Sym = tfl.SymbolicTensor;
const STEPS = 300;
const N = 64;
const CHUNK = 16;

/**
 * Two inputs a [6] and b [4], two outputs: a softmax class (from a and b) and a linear regression (from b only).
 *
 *   a → Dense (ReLU) ─┐
 *                     concat → BN → Dense (tanh) → Dense (softmax) = out1
 *   b → Dense (ReLU) ─┤
 *                     └→ Dense (ReLU) → Dense (linear) = out2
 *
 * Every layer but the second input's feeds only one output. The tanh Dense layer chains into out1 and the last
 * ReLU Dense layer into out2 (the Dense delta path, whose next layer's output is one of the two outputs).
 */
function twoByTwo(seed: number, regularized: boolean): tfl.LayersModel {
  const he = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  const reg = regularized ? { kernelRegularizer: tfl.regularizers.l1l2({ l1: 0.01, l2: 0.02 }), biasRegularizer: tfl.regularizers.l2({ l2: 0.05 }) } : {};
  const a = tfl.input({ shape: [6] });
  const b = tfl.input({ shape: [4] });
  const da = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(1), ...reg }).apply(a) as Sym;
  const db = tfl.layers.dense({ units: 4, activation: 'relu', kernelInitializer: he(2) }).apply(b) as Sym;
  let h = tfl.layers.concatenate().apply([da, db]) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = tfl.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: he(3), ...reg }).apply(h) as Sym;
  const out1 = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(4) }).apply(h) as Sym;
  const e = tfl.layers.dense({ units: 3, activation: 'relu', kernelInitializer: he(5), ...reg }).apply(db) as Sym;
  const out2 = tfl.layers.dense({ units: 2, kernelInitializer: he(6), ...reg }).apply(e) as Sym;
  return tfl.model({ inputs: [a, b], outputs: [out1, out2] });
}

/** Seeded data: a class from a fixed linear map of both inputs, and a regression target from b. */
function twoByTwoData(seed: number) {
  return tf.tidy(() => {
    const xa = tf.randomNormal([N, 6], 0, 1, 'float32', seed);
    const xb = tf.randomNormal([N, 4], 0, 1, 'float32', seed + 1);
    const logits = tf.matMul(tf.concat([xa, xb], 1), tf.randomNormal([10, 3], 0, 1, 'float32', seed + 2));
    const y1 = tf.cast(tf.oneHot(tf.argMax(logits, 1), 3), 'float32');
    const y2 = tf.tanh(tf.matMul(xb, tf.randomNormal([4, 2], 0, 1, 'float32', seed + 3)));
    return { xs: [xa, xb], ys: [y1, y2] };
  });
}

/** Weighted sum over the outputs of each output's mean loss: cross-entropy + 0.5 · mean squared error. */
const dataLoss: DataLoss = (ys, ps) =>
  tf.add(tf.mean(tfl.metrics.categoricalCrossentropy(ys[0]!, ps[0]!)), tf.mul(0.5, tf.mean(tfl.metrics.meanSquaredError(ys[1]!, ps[1]!)))) as tf.Scalar;

/** Sets a variable to a copy of `data` (on cpu a tensor made from an array shares it). */
const write = (v: tf.Variable, data: Float32Array) => tf.tidy(() => v.assign(tf.tensor(data.slice(), v.shape)));

/**
 * The reference: each candidate written into the variable, the whole model run in training mode on the batch,
 * the data loss plus tfjs's penalties (as `model.fit` computes the objective); then the weight and the BN
 * moving statistics are put back.
 */
function fullModelLosses(model: tfl.LayersModel, v: tf.Variable, flat: number, candidates: Float32Array, xs: tf.Tensor[], ys: tf.Tensor[]): number[] {
  const moving = model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
  const saved = moving.map((m) => Float32Array.from(m.dataSync() as Float32Array));
  const data = Float32Array.from(v.dataSync() as Float32Array);
  const before = data[flat]!;
  const losses = Array.from(candidates, (c) => {
    data[flat] = c;
    write(v, data);
    return tf.tidy(() => {
      const preds = model.apply(xs, { training: true }) as tf.Tensor[];
      const penalty = model.calculateLosses().reduce((s, l) => s + l.dataSync()[0]!, 0);
      return dataLoss(ys, preds).dataSync()[0]! + penalty;
    });
  });
  data[flat] = before;
  write(v, data);
  moving.forEach((m, i) => write(m, saved[i]!));
  return losses;
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

for (const [backend, name, regularized, batchCandidates] of [
  ['cpu', 'two inputs, two outputs', false, false],
  ['cpu', 'two inputs, two outputs, batched candidates', false, true],
  ['cpu', 'two inputs, two outputs, L1L2 and L2 regularizers', true, false],
  ['wasm', 'two inputs, two outputs', false, false],
] as const) {
  describe(`model engine on ${backend}, ${name}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(useCpu);
    it(`gives the losses of the full model (1e-5 relative) for every candidate of ${STEPS} steps, with outputs the group does not reach from the cut`, () => {
      const { xs, ys } = twoByTwoData(21);
      const model = twoByTwo(3, regularized);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const opt = new RSOOptimizer({ seed: 13, cycles: 5 });
      opt.bind(variables);
      const engine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss, { batchCandidates });
      const chunks = Array.from({ length: N / CHUNK }, (_, c) => ({
        xs: xs.map((x) => tf.slice(x, c * CHUNK, CHUNK)),
        ys: ys.map((y) => tf.slice(y, c * CHUNK, CHUNK)),
      }));
      let batch = chunks[0]!;
      let worst = 0;
      const searched = new Set<number>();
      // The search core drives the engine; each step's candidates are also run through the whole model.
      const checked: CandidateEvaluator = {
        read: (t, flat) => engine.read(t, flat),
        write: (t, flat, value) => engine.write(t, flat, value),
        evaluate(t, flat, candidates) {
          const expected = fullModelLosses(model, variables[t]!, flat, candidates, batch.xs, batch.ys);
          const got = engine.evaluate(t, flat, candidates);
          expected.forEach((l, k) => (worst = Math.max(worst, relErr(l, got[k]!))));
          searched.add(t);
          return got;
        },
      };
      for (let step = 0; step < STEPS; step++) {
        const c = step % chunks.length;
        batch = chunks[c]!;
        engine.setBatch(`chunk ${c}`, batch.xs, batch.ys);
        opt.runSteps(checked);
      }
      const stats = engine.stats();
      console.log(`${backend}, ${name}: worst relative loss difference ${worst.toExponential(2)}; ${stats.deltaSteps} delta steps`);
      expect(worst).toBeLessThan(1e-5);
      // Every tensor was searched; the Dense chains into each output ran, the softmax output path did not
      // (it needs a single output).
      expect(searched.size).toBe(variables.length);
      expect(stats.deltaSteps).toBeGreaterThan(30);
      expect(stats.batchedSteps).toBe(batchCandidates ? stats.deltaSteps : 0);
      expect(stats.outputSteps).toBe(0);
      expect(stats.hits).toBeGreaterThan(stats.misses);
      engine.dispose();
      for (const c of chunks) tf.dispose([...c.xs, ...c.ys]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      tf.dispose([...xs, ...ys]);
    });
  });
}

describe('model engine data interface', () => {
  it('rejects a batch whose lists do not match the model inputs and outputs', () => {
    const model = twoByTwo(1, false);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new RSOOptimizer({ seed: 1 });
    opt.bind(variables);
    const engine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss);
    const { xs, ys } = twoByTwoData(2);
    expect(() => engine.setBatch('k', [xs[0]!], ys)).toThrow(/2 inputs and 2 outputs, the batch 1 and 2/);
    engine.dispose();
    model.dispose();
    tf.dispose([...xs, ...ys]);
  });
});
