/**
 * Inputs that used to hang a run or silently corrupt it (issue 24), one test each, plus a fast-check property that
 * no step accepts a non-finite candidate or leaves a non-finite weight, on the closure path and on the model
 * engine. The random tests name their seeds.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rsoExports from '../src/index.js';
import { POLICY_KINDS, RSOOptimizer, earlyRejection, registerPolicy } from '../src/index.js';
import type { NamedTensor, PerturbationDistribution, RSOConfig, StepResult } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { CONFIG_FIELDS } from '../src/config/config.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

let x: tf.Tensor;
let y: tf.Tensor;

beforeAll(async () => {
  await useCpu();
  ({ x, y } = toyData(16, [4], 3));
});

afterAll(() => tf.dispose([x, y]));

const quiet = { verbose: 0 as const, batchSize: 8 };
/** The documented bound on cycles (the constant is read by name so that this file also runs on older code). */
const MAX_CYCLES = 1_000_000;

describe('a huge cycle count is refused, and nothing walks every cycle', () => {
  it('cycles beyond MAX_CYCLES is a RangeError naming cycles, at construction and in a saved config', () => {
    for (const cycles of [1e300, 1e308, 2 ** 53 + 2, MAX_CYCLES + 1]) {
      expect(() => new RSOOptimizer({ cycles })).toThrow(RangeError);
      expect(() => new RSOOptimizer({ cycles })).toThrow(/cycles must be an integer ≤ 1000000, got/);
      const saved = { ...new RSOOptimizer().getConfig(), cycles };
      expect(() => RSOOptimizer.fromConfig(RSOOptimizer, saved)).toThrow(/cycles must be an integer ≤ 1000000/);
    }
    expect(new RSOOptimizer({ cycles: MAX_CYCLES }).config.cycles).toBe(MAX_CYCLES);
    expect((rsoExports as Record<string, unknown>)['MAX_CYCLES']).toBe(MAX_CYCLES);
  });

  it('a saved model whose config says cycles: 1e308 fails to load, naming cycles', async () => {
    const model = tinyDense(2);
    model.compile({ optimizer: new RSOOptimizer({ seed: 1 }), loss: 'categoricalCrossentropy' });
    let artifacts: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    const a = artifacts! as tf.io.ModelArtifacts & { trainingConfig: { optimizer_config: { config: Record<string, unknown> } } };
    a.trainingConfig.optimizer_config.config['cycles'] = 1e308;
    await expect(tfl.loadLayersModel(tf.io.fromMemory(a))).rejects.toThrow(/cycles must be an integer ≤ 1000000, got 1e\+308/);
    model.dispose();
  });

  it('rso.fit refuses cycles beyond the bound at once, and checks a batch-size schedule without walking every planned cycle', async () => {
    const model = tinyDense(3);
    const opt = new RSOOptimizer({ seed: 1, cycles: MAX_CYCLES });
    await expect(opt.fit(model, x, y, { ...quiet, loss: 'categoricalCrossentropy', cycles: 1e300 })).rejects.toThrow(/cycles must be an integer ≤ 1000000, got 1e\+300/);
    let calls = 0;
    const batchSize = (c: number) => {
      calls++;
      return c >= 0 ? 8 : 0;
    };
    await opt.fit(model, x, y, { ...quiet, batchSize, loss: 'categoricalCrossentropy', maxSteps: 3 });
    expect(opt.step).toBe(3);
    // The old check asked the schedule once per planned cycle (a million here).
    expect(calls).toBeLessThan(5_000);
    model.dispose();
  });
});

/** The values a hostile distribution returns, and the σ factors that make finite draws overflow float32. */
const DRAWS = [Infinity, -Infinity, NaN, 1e39, -3.3e38, 1e30, 2, -0.5];
const FACTORS = [1, 1e308, 1e38];

/** A distribution cycling through `draws` (a custom policy: no config, one thread). */
const hostile = (draws: readonly number[]): PerturbationDistribution => {
  let k = 0;
  return { sample: (rng) => (rng.next(), draws[k++ % draws.length]!) };
};

/** Every trainable weight is finite (BN moving statistics of huge finite weights may overflow; they are not searched). */
const trainableFinite = (model: tfl.LayersModel): boolean => model.trainableWeights.every((w) => (w.read().dataSync() as Float32Array).every(Number.isFinite));

const finiteStep = (r: StepResult | null): void => {
  expect(r).not.toBeNull();
  expect(Number.isFinite(r!.value), `step ${r!.step} kept ${r!.value} (candidate ${r!.accepted})`).toBe(true);
};

describe('a non-finite candidate never wins, and every weight stays finite', () => {
  const PROPERTY_SEED = 2424;
  // Input to output: the first layer's kernel (24 scalars), then its biases, whose units can die behind the ReLU.
  const STEPS = 36;
  /** Scalar steps, block moves (channel, unit and sparse), and probe reuse (which writes a point along the step, not a candidate). */
  const MOVES: Partial<RSOConfig>[] = [{}, { moves: { name: 'channelBlocks' } }, { moves: { name: 'unitMoves' } }, { moves: { name: 'sparseDirection', k: 3 } }, { probeReuse: { name: 'parabolicStep' } }];
  const drawsArb = fc.array(fc.constantFrom(...DRAWS), { minLength: 1, maxLength: 6 });

  it('on the closure path (minimize), for any draws and σ factor', () => {
    const model = tinyDense(4);
    const initial = model.getWeights().map((w) => tf.keep(w.clone()));
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = () => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
    fc.assert(
      fc.property(drawsArb, fc.constantFrom(...FACTORS), fc.boolean(), fc.constantFrom(...MOVES), (draws, factor, decay, moves) => {
        model.setWeights(initial);
        const opt = new RSOOptimizer({ seed: 5, distribution: hostile(draws), sigma: { name: 'constant', value: factor }, weightDecay: decay ? 1e-4 : 0, layerOrder: { name: 'inputToOutput' }, ...moves });
        for (let s = 0; s < STEPS; s++) {
          opt.minimize(loss, false, variables);
          finiteStep(opt.lastStepResult);
        }
        expect(trainableFinite(model)).toBe(true);
      }),
      { seed: PROPERTY_SEED, numRuns: 45 },
    );
    tf.dispose(initial);
    model.dispose();
  });

  it('on the model engine (rso.fit), for any draws and σ factor', async () => {
    await fc.assert(
      fc.asyncProperty(drawsArb, fc.constantFrom(...FACTORS), async (draws, factor) => {
        const model = tinyDense(4);
        const opt = new RSOOptimizer({ seed: 5, distribution: hostile(draws), sigma: { name: 'constant', value: factor }, layerOrder: { name: 'inputToOutput' } });
        const steps: (StepResult | null)[] = [];
        const history = await opt.fit(model, x, y, {
          ...quiet, loss: 'categoricalCrossentropy', engine: 'model', maxSteps: STEPS,
          callbacks: { onBatchEnd: async () => void steps.push(opt.lastStepResult) },
        });
        expect(history.params['engine']).toBe('model');
        expect(steps.length).toBe(STEPS);
        steps.forEach(finiteStep);
        expect(trainableFinite(model)).toBe(true);
        model.dispose();
      }),
      { seed: PROPERTY_SEED + 1, numRuns: 15 },
    );
  });
});

/** The optimizer state after `steps` minimize calls on a fresh tiny model, as plain arrays. */
async function savedAfter(steps: number): Promise<{ state: number[]; sigma: number[] }> {
  const model = tinyDense(6);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = () => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
  const opt = new RSOOptimizer({ seed: 9 });
  for (let s = 0; s < steps; s++) opt.minimize(loss, false, variables);
  const w = await opt.getWeights();
  const out = { state: Array.from(w[1]!.tensor.dataSync()), sigma: Array.from(w[2]!.tensor.dataSync()) };
  opt.dispose();
  model.dispose();
  return out;
}

const named = (state: number[], sigma: number[]): NamedTensor[] => [
  { name: 'rso/state', tensor: tf.tensor1d(state, 'int32') },
  { name: 'rso/sigma', tensor: tf.tensor1d(sigma, 'float32') },
];

describe('a loaded state is checked as a constructed config is', () => {
  it('an empty σ with a state past step 0 is refused, naming rso/sigma; a never-bound save still loads', async () => {
    const at20 = await savedAfter(20);
    const w = named(at20.state, []);
    await expect(new RSOOptimizer({ seed: 9 }).setWeights(w)).rejects.toThrow(/rso\/sigma is empty but the state is at step 20/);
    tf.dispose(w.map((n) => n.tensor));
    // An optimizer saved before it ever bound: step 0 and no σ, which the first bind computes, as it would have.
    const fresh = await new RSOOptimizer({ seed: 9 }).getWeights();
    expect(fresh[2]!.tensor.size).toBe(0);
    await new RSOOptimizer({ seed: 9 }).setWeights(fresh);
    // Bound, σ must have the model's length: empty is refused too.
    const bound = new RSOOptimizer({ seed: 9 });
    const model = tinyDense(6);
    bound.bind(model.trainableWeights.map((v) => v.read() as tf.Variable));
    await expect(bound.setWeights(fresh)).rejects.toThrow(/rso\/sigma holds σ for 0 tensors, the bound model has 6/);
    model.dispose();
  });

  it('a saved config with null in a field is refused, naming it (seed: null used to become seed 0)', () => {
    const saved = new RSOOptimizer({ seed: 7 }).getConfig();
    expect(() => RSOOptimizer.fromConfig(RSOOptimizer, { ...saved, seed: null })).toThrow(/fromConfig: seed is null/);
    expect(() => RSOOptimizer.fromConfig(RSOOptimizer, { ...saved, weightDecay: null })).toThrow(/fromConfig: weightDecay is null/);
    expect((RSOOptimizer.fromConfig(RSOOptimizer, saved) as RSOOptimizer).config.seed).toBe(7);
  });
});

describe('every check that can run before the model is compiled or bound runs there', () => {
  const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yt, -1), tf.argMax(yp, -1)), 'float32');

  it('workers with a loss function: refused before compiling, so the corrected call works', async () => {
    const model = tinyDense(7);
    const opt = new RSOOptimizer({ seed: 2 });
    await expect(opt.fit(model, x, y, { ...quiet, loss: errorRate, workers: nodeWorkers(2) })).rejects.toThrow(/worker threads need the loss by name/);
    expect(model.optimizer).toBeUndefined();
    expect(opt.scalarsPerCycle).toBe(0);
    await opt.fit(model, x, y, { ...quiet, loss: 'categoricalCrossentropy', maxSteps: 2 });
    expect(opt.step).toBe(2);
    model.dispose();
  });

  it('earlyRejection with a loss function: refused before compiling', async () => {
    const model = tinyDense(7);
    const opt = new RSOOptimizer({ seed: 2, earlyRejection: earlyRejection() });
    await expect(opt.fit(model, x, y, { ...quiet, loss: errorRate })).rejects.toThrow(/earlyRejection needs one loss per example/);
    expect(model.optimizer).toBeUndefined();
    await opt.fit(model, x, y, { ...quiet, loss: 'categoricalCrossentropy', maxSteps: 2 });
    expect(opt.step).toBe(2);
    model.dispose();
  });
});

describe("a registered factory's output is checked when the optimizer is built", () => {
  // Every declared field that holds a policy, with its kind: from the declarations, not a copy.
  const FIELDS = CONFIG_FIELDS.flatMap((f) => (f.kind === undefined ? [] : [[f.name, f.kind] as const]));

  it('every policy kind has a config field', () => {
    expect(new Set(FIELDS.map(([, kind]) => kind))).toEqual(new Set(POLICY_KINDS));
  });

  it.each(FIELDS)('%s (%s): a factory returning 42 is a TypeError naming the field', (field, kind) => {
    registerPolicy(kind, `returns-42-${field}`, () => 42);
    const build = () => new RSOOptimizer({ [field]: { name: `returns-42-${field}` } } as RSOConfig);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(new RegExp(`^${field}: the factory registered as ${kind} "returns-42-${field}" returned 42`));
  });

  it('a batchSize schedule factory is checked when rso.fit reads its arguments', async () => {
    registerPolicy('schedule', 'returns-object', () => ({ value: 8 }));
    const model = tinyDense(8);
    await expect(new RSOOptimizer().fit(model, x, y, { ...quiet, loss: 'categoricalCrossentropy', batchSize: { name: 'returns-object' } })).rejects.toThrow(/^batchSize: the factory registered as schedule "returns-object" returned/);
    expect(model.optimizer).toBeUndefined();
    model.dispose();
  });
});

describe('runs that would silently do nothing are refused at construction', () => {
  it.each<[string, RSOConfig, RegExp]>([
    ['σ schedule constant 0', { sigma: { name: 'constant', value: 0 } }, /^sigma: the schedule is 0 at the first and the last planned cycle/],
    ['σ schedule of −1', { sigma: { name: 'constant', value: -1 } }, /^sigma: the schedule must return a finite number ≥ 0, got -1 at cycle 0/],
    ['σ schedule from −1', { sigma: { name: 'linear', from: -1 } }, /^sigma: the schedule must return a finite number ≥ 0, got -1 at cycle 0/],
    ['σ schedule ending below 0', { cycles: 4, sigma: { name: 'linear', from: 1, to: -1 } }, /^sigma: the schedule must return a finite number ≥ 0, got -0\.5 at cycle 3/],
    ['discrete values [0]', { distribution: { name: 'discrete', values: [0] } }, /discreteDistribution\.values must hold a nonzero number, got \[0\]/],
    ['sigmaBase 1e-45', { sigmaBase: 1e-45 }, /^sigmaBase must be > 0 and finite in float32: from 1\.175e-38/],
    ['fixed σ 1e-40', { sigmaBase: { name: 'fixed', value: 1e-40 } }, /fixedSigma\.value must be > 0 and finite in float32: from 1\.175e-38/],
    ['bnSigma 1e-39', { bnSigma: 1e-39 }, /^bnSigma must be > 0 and finite in float32: from 1\.175e-38/],
    ['stepsPerBatch schedule 0', { stepsPerBatch: { name: 'constant', value: 0 } }, /^stepsPerBatch: the schedule must return a number in \[1, 2147483647\], got 0 at batch 0/],
    ['stepsPerBatch schedule 1e20', { stepsPerBatch: { name: 'constant', value: 1e20 } }, /^stepsPerBatch: the schedule must return a number in \[1, 2147483647\], got 100000000000000000000 at batch 0/],
  ])('%s', (_, config, message) => {
    expect(() => new RSOOptimizer(config)).toThrow(RangeError);
    expect(() => new RSOOptimizer(config)).toThrow(message);
  });

  it('a σ schedule that reaches 0 only at the end, or starts there, is still a run', () => {
    expect(() => new RSOOptimizer({ cycles: 3, sigma: { name: 'linear', from: 1, to: 0, steps: 2 } })).not.toThrow();
    expect(() => new RSOOptimizer({ cycles: 3, sigma: { name: 'linear', from: 0, to: 1, steps: 2 } })).not.toThrow();
  });
});

describe('saving leaks no tensor', () => {
  /** Tensors alive after each of 10 saves of a trained model compiled with `optimizer`. */
  async function countsOverSaves(optimizer: tf.Optimizer, includeOptimizer: boolean): Promise<{ before: number; after: number[]; model: tfl.LayersModel }> {
    const model = tinyDense(9);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { batchSize: 8, epochs: 1, verbose: 0 });
    const handler = tf.io.withSaveHandler(async () => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }));
    const before = tf.memory().numTensors;
    const after: number[] = [];
    for (let k = 0; k < 10; k++) {
      await model.save(handler, { includeOptimizer });
      after.push(tf.memory().numTensors);
    }
    return { before, after, model };
  }

  it.each([true, false])('includeOptimizer: %s', async (includeOptimizer) => {
    const rso = new RSOOptimizer({ seed: 1 });
    const r = await countsOverSaves(rso, includeOptimizer);
    // The state tensors belong to the optimizer: the same ones are replaced on every save, and dispose frees them.
    expect(r.after.every((n) => n === r.after[0])).toBe(true);
    rso.dispose();
    expect(tf.memory().numTensors).toBe(r.before);
    r.model.dispose();
    // tfjs's own SGD leaks its "iter" scalar on every save with includeOptimizer (tfjs-core saveIterations); RSO does not.
    const sgd = tf.train.sgd(0.1);
    const s = await countsOverSaves(sgd, includeOptimizer);
    expect(s.after[9]! - s.before).toBe(includeOptimizer ? 10 : 0);
    s.model.dispose();
  });
});
