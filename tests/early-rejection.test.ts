import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, channelBlocks, earlyRejection, successRule } from '../src/index.js';
import type { LossSpec, RSOConfig, RSOFitArgs } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { parseConfig, serializeConfig } from '../src/config/config.js';
import { normalQuantile, pairedZ, planStages, stageDecision, stageSums } from '../src/policies/early-rejection/index.js';
import { normalDistribution } from '../src/policies/distributions/index.js';
import { createRng } from '../src/base/rng.js';
import { relErr } from './equivalence-runs.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu, weightsOf } from './helpers.js';
import { regularizedMlp } from './shared-models.js';

beforeAll(useCpu);

describe('the paired test', () => {
  it('computes Φ⁻¹ and the paired z statistic as derived by hand', () => {
    // Standard normal table values.
    expect(normalQuantile(0.5)).toBeCloseTo(0, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 7);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963985, 7);
    expect(normalQuantile(1e-7)).toBeCloseTo(-5.199337582, 6);
    // d = 1, 2, 3: mean 2, sd 1, z = 2 / (1 / √3) = 2√3.
    expect(pairedZ(6, 14, 3)).toBeCloseTo(2 * Math.sqrt(3), 12);
    expect(pairedZ(0, 0, 5)).toBeNaN();
    expect(pairedZ(5, 5, 5)).toBe(Infinity);
  });

  it('sums each candidate and each pair of candidates over the examples', () => {
    // l0 = [1, 2], l1 = [3, 1], l2 = [1, 1]: L = 3, 4, 2; d01 = [2, −1], d02 = [0, −1], d12 = [−2, 0].
    expect(Array.from(stageSums([[1, 2], [3, 1], [1, 1]]))).toEqual([2, 3, 4, 2, 1, 5, -1, 1, -2, 4]);
  });

  it('plans the stages that have enough rows and are not the full batch', () => {
    const stages = [1 / 8, 1 / 4, 1 / 2, 1];
    expect(planStages(stages, 30, 1000)).toEqual([{ stage: 0, rows: 125 }, { stage: 1, rows: 250 }, { stage: 2, rows: 500 }]);
    expect(planStages(stages, 30, 100)).toEqual([{ stage: 2, rows: 50 }]);
    expect(planStages(stages, 30, 40)).toEqual([]);
    expect(planStages([0.5, 0.51, 1], 2, 10)).toEqual([{ stage: 0, rows: 5 }, { stage: 1, rows: 6 }]);
  });

  it('never stops when every difference is zero (seed 3)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 60 }), fc.double({ min: 1e-6, max: 0.5, noNaN: true }), (l, alpha) => {
        expect(stageDecision(stageSums([l, l, l]), alpha, [0, 1, -1])).toBe(-1);
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it('stops on a clear winner, and not on a winner within the noise (seed 4)', () => {
    const rng = createRng(4);
    const normal = normalDistribution();
    const noisy = (n: number, shift: number) => Array.from({ length: n }, () => 1 + shift + 0.1 * normal.sample(rng));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 30, max: 200 }), (winner, n) => {
        const clear = [0, 1, 2].map((k) => noisy(n, k === winner ? -1 : 0));
        expect(stageDecision(stageSums(clear), 0.01, [0, 1, -1])).toBe(winner);
        // The same winner by 0.001 against noise of 0.1 cannot be told apart at α = 1e-6.
        const close = [0, 1, 2].map((k) => noisy(n, k === winner ? -0.001 : 0));
        expect(stageDecision(stageSums(close), 1e-6, [0, 1, -1])).toBe(-1);
      }),
      { seed: 4, numRuns: 100 },
    );
  });

  it('skips the comparison with a candidate of the same value (a grid step repeating w)', () => {
    const base = Array.from({ length: 40 }, (_, e) => 1 + (e % 7) / 10);
    const worse = base.map((v) => v + 1);
    // Candidates 0 and 2 are the same weight: only 0 against 1 is tested.
    expect(stageDecision(stageSums([base, worse, base]), 0.01, [0.5, -0.5, 0.5])).toBe(0);
    expect(stageDecision(stageSums([base, worse, base]), 0.01, [0.5, -0.5, 0.25])).toBe(-1);
  });

  it('keeps the wrong early stops under the error rate on simulated null data (seed 5)', () => {
    // Three candidates with the same expected loss per example: every early stop is an error. 1,000 steps on
    // batches of 400; the rule splits errorRate over 2 comparisons × 3 stages.
    const rule = earlyRejection({ errorRate: 0.2, minExamples: 30 });
    const rng = createRng(5);
    const normal = normalDistribution();
    const steps = 1000;
    const rows = 400;
    const plan = rule.plan(rows);
    expect(plan.map((s) => s.rows)).toEqual([50, 100, 200]);
    let stops = 0;
    let stopsWithoutSplit = 0;
    for (let s = 0; s < steps; s++) {
      const base = Array.from({ length: rows }, () => normal.sample(rng));
      const losses = [0, 1, 2].map(() => base.map((b) => b + 0.3 * normal.sample(rng)));
      const at = (n: number) => stageSums(losses.map((l) => l.slice(0, n)));
      if (plan.some(({ rows: n }) => rule.decide(at(n), plan.length, [0, 1, -1]) >= 0)) stops++;
      if (plan.some(({ rows: n }) => stageDecision(at(n), 0.2, [0, 1, -1]) >= 0)) stopsWithoutSplit++;
    }
    console.log(`null data: ${stops} of ${steps} steps stopped early at errorRate 0.2 (${stopsWithoutSplit} without the Bonferroni split)`);
    // Binomial(1000, 0.2): mean 200, sd 12.6; the bound allows three sd.
    expect(stops).toBeLessThan(0.2 * steps + 38);
    // Without the split the same data stop too often: the test above can fail.
    expect(stopsWithoutSplit).toBeGreaterThan(0.2 * steps + 38);
  });
});

describe('earlyRejection options and config', () => {
  it('rejects bad options, naming the field', () => {
    expect(() => earlyRejection({ stages: [0.5, 0.25, 1] })).toThrow(/earlyRejection.stages must increase, got \[0.5,0.25,1\]/);
    expect(() => earlyRejection({ stages: [0.5] })).toThrow(/earlyRejection.stages must end with 1/);
    expect(() => earlyRejection({ stages: [] })).toThrow(/earlyRejection.stages must not be empty/);
    expect(() => earlyRejection({ stages: [0, 1] })).toThrow(/earlyRejection.stages\[0\] must be > 0, got 0/);
    expect(() => earlyRejection({ stages: [0.5, 2] })).toThrow(/earlyRejection.stages\[1\] must be ≤ 1, got 2/);
    expect(() => earlyRejection({ stages: 0.5 as unknown as number[] })).toThrow(/earlyRejection.stages must be an array, got 0.5/);
    expect(() => earlyRejection({ errorRate: 0 })).toThrow(/earlyRejection.errorRate must be > 0, got 0/);
    expect(() => earlyRejection({ errorRate: 1 })).toThrow(/earlyRejection.errorRate must be < 1, got 1/);
    expect(() => earlyRejection({ minExamples: 1 })).toThrow(/earlyRejection.minExamples must be an integer ≥ 2, got 1/);
    expect(() => earlyRejection({ errorrate: 0.1 } as never)).toThrow(/errorrate.*did you mean "errorRate"/);
    expect(() => new RSOOptimizer({ earlyRejection: { name: 'earlyRejection', errorRate: -1 } })).toThrow(/earlyRejection.errorRate must be > 0, got -1/);
  });

  it('round-trips any valid options through the config (seed 6)', () => {
    const options = fc.record(
      {
        stages: fc.uniqueArray(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { maxLength: 4 }).map((a) => [...a.sort((x, y) => x - y), 1]),
        errorRate: fc.double({ min: 1e-12, max: 0.99, noNaN: true }),
        minExamples: fc.integer({ min: 2, max: 10_000 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(options, (o) => {
        const rule = earlyRejection(o);
        const resolved = parseConfig({ earlyRejection: rule });
        const again = parseConfig(JSON.parse(JSON.stringify(serializeConfig(resolved))) as RSOConfig);
        expect(again.earlyRejection!.config).toEqual(rule.config);
        expect(again.earlyRejection!.plan(1000)).toEqual(rule.plan(1000));
        expect(new RSOOptimizer(new RSOOptimizer({ earlyRejection: rule }).getConfig() as RSOConfig).config.earlyRejection!.config).toEqual(rule.config);
      }),
      { seed: 6, numRuns: 100 },
    );
    expect(parseConfig({}).earlyRejection).toBeNull();
    expect(serializeConfig(parseConfig({}))).not.toHaveProperty('earlyRejection');
  });
});

/** A run of rso.fit, recording each step's coordinates, decision and losses. */
async function fitRun(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, config: RSOConfig, args: RSOFitArgs & { loss?: LossSpec }) {
  const model = build();
  const opt = new RSOOptimizer({ seed: 21, cycles: 4, ...config });
  const steps: { tensor: number; flat: number; accepted: number; losses: number[]; block: boolean }[] = [];
  const history = await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy', verbose: 0, batchNormSamples: 0, ...args,
    callbacks: { onBatchEnd: async () => void steps.push({ tensor: opt.lastStepResult!.tensor, flat: opt.lastStepResult!.flat, accepted: opt.lastStepResult!.accepted, losses: Array.from(opt.lastStepResult!.losses), block: opt.lastStepResult!.block !== null }) },
  });
  const list = (key: string) => String(history.params[key] ?? '').split(',').filter((v) => v !== '').map(Number);
  return { model, steps, weights: weightsOf(model), history, evaluated: list('engineStagesEvaluated'), decided: list('engineStagesDecided'), examples: Number(history.params['engineStageExamples']) };
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

describe('early rejection in rso.fit', () => {
  const strict = earlyRejection({ stages: [0.25, 0.5, 1], errorRate: 1e-12, minExamples: 8 });

  it('with an error rate of 1e-12 no stage settles: the weights are those of a run without it, bit for bit (model engine and closure path)', async () => {
    const { x, y } = toyData(128, [6, 6, 1], 13);
    const before = tf.memory().numTensors;
    for (const engine of ['model', 'closure'] as const) {
      const args = { batchSize: 64, maxSteps: 120, engine };
      const plain = await fitRun(() => tinyConvSeq(4), x, y, {}, args);
      const staged = await fitRun(() => tinyConvSeq(4), x, y, { earlyRejection: strict }, args);
      expect(staged.steps.map((s) => s.accepted)).toEqual(plain.steps.map((s) => s.accepted));
      expect(same(staged.weights, plain.weights)).toBe(true);
      // The stages ran (16 and 32 rows of 64), and every step went on to the full batch.
      expect(staged.evaluated).toEqual([120, 120, 120]);
      expect(staged.decided).toEqual([0, 0, 120]);
      expect(staged.examples).toBe(120 * (16 + 32 + 64));
      expect(plain.history.params).not.toHaveProperty('engineStagesEvaluated');
      staged.model.dispose();
      plain.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('leaves a run without it untouched: an explicit null is the default, bit for bit', async () => {
    const { x, y } = toyData(64, [8], 14);
    const args = { batchSize: 32, maxSteps: 60, engine: 'model' as const };
    const a = await fitRun(() => tinyMlp(3), x, y, {}, args);
    const b = await fitRun(() => tinyMlp(3), x, y, { earlyRejection: undefined }, args);
    expect(same(a.weights, b.weights)).toBe(true);
    a.model.dispose();
    b.model.dispose();
    tf.dispose([x, y]);
  });
});

describe('early rejection at a normal error rate', () => {
  const rule = earlyRejection({ stages: [1 / 8, 1 / 4, 1 / 2, 1], errorRate: 0.2, minExamples: 8 });
  const args = { batchSize: 128, maxSteps: 160, engine: 'model' as const };

  it('takes the same decisions on 1 thread and on 2 worker threads (conv/BN net, seed 21), and the loss falls', async () => {
    const { x, y } = toyData(256, [6, 6, 1], 13);
    const before = tf.memory().numTensors;
    const one = await fitRun(() => tinyConvSeq(4), x, y, { earlyRejection: rule }, args);
    const two = await fitRun(() => tinyConvSeq(4), x, y, { earlyRejection: rule }, { ...args, workers: nodeWorkers(2) });
    let agree = 0;
    while (agree < one.steps.length && one.steps[agree]!.accepted === two.steps[agree]!.accepted) agree++;
    console.log(`1 vs 2 threads: ${agree} of ${one.steps.length} steps agree; decided per stage ${one.decided.join(', ')} (1 thread), ${two.decided.join(', ')} (2 threads); ${one.examples} examples per candidate against ${160 * 128} without early rejection`);
    // Shards add sums in another order, so a near-tie may part the runs; here none does.
    expect(agree).toBe(one.steps.length);
    expect(two.decided).toEqual(one.decided);
    expect(two.examples).toBe(one.examples);
    one.steps.forEach((s, k) => s.losses.forEach((l, c) => expect(relErr(l, two.steps[k]!.losses[c]!)).toBeLessThan(1e-5)));
    expect(one.weights.reduce((m, v, i) => Math.max(m, Math.abs(v - two.weights[i]!)), 0)).toBeLessThan(1e-5);
    // Some steps stopped at each tested stage; the rest went to the full batch.
    expect(one.decided.slice(0, 3).every((d) => d > 0)).toBe(true);
    expect(one.decided.reduce((a, b) => a + b, 0)).toBe(160);
    expect(one.examples).toBe(one.evaluated[0]! * 16 + one.evaluated[1]! * 32 + one.evaluated[2]! * 64 + one.evaluated[3]! * 128);
    const loss = one.history.history['loss'] as number[];
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
    one.model.dispose();
    two.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

describe('early rejection under a sum over the batch', () => {
  it('matches the full batch bit for bit at 1e-12, and reports an early step\'s losses on the batch\'s scale (seed 21)', async () => {
    const { x, y } = toyData(128, [8], 17);
    const args = { batchSize: 64, maxSteps: 100, engine: 'model' as const, lossReduction: 'sum' as const };
    const stages = { stages: [0.25, 0.5, 1], minExamples: 8 };
    const plain = await fitRun(() => tinyMlp(6), x, y, {}, args);
    const strict = await fitRun(() => tinyMlp(6), x, y, { earlyRejection: earlyRejection({ ...stages, errorRate: 1e-12 }) }, args);
    const loose = await fitRun(() => tinyMlp(6), x, y, { earlyRejection: earlyRejection({ ...stages, errorRate: 0.3 }) }, args);
    expect(same(strict.weights, plain.weights)).toBe(true);
    expect(strict.decided).toEqual([0, 0, 100]);
    expect(loose.decided.slice(0, 2).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // A sum over 64 rows of losses near 1: a stage's sum over 16 or 32 rows is scaled by 64 / n to the same size.
    const kept = loose.steps.map((s) => s.losses[s.accepted]!);
    const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
    for (const l of kept) expect(l / mean).toBeGreaterThan(0.5);
    for (const l of kept) expect(l / mean).toBeLessThan(2);
    for (const r of [plain, strict, loose]) r.model.dispose();
    tf.dispose([x, y]);
  });
});

describe('early rejection refuses what it cannot do', () => {
  const rule = earlyRejection({ minExamples: 2 });

  it('throws in minimize (model.fit), which sees one loss per candidate', async () => {
    const { x, y } = toyData(32, [8], 16);
    const model = tinyMlp(2);
    model.compile({ optimizer: new RSOOptimizer({ earlyRejection: rule }), loss: 'categoricalCrossentropy' });
    await expect(model.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0 })).rejects.toThrow(/minimize \(model.fit, trainOnBatch\): earlyRejection needs per-example losses/);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('throws at the start of rso.fit for a loss function, regularizer penalties, or too few examples for the threads', async () => {
    const { x, y } = toyData(32, [8], 16);
    // Each run builds its model, expects the error, and disposes the model.
    const fails = async (build: () => tfl.LayersModel, loss: LossSpec, extra: RSOFitArgs, message: RegExp) => {
      const model = build();
      await expect(new RSOOptimizer({ earlyRejection: rule }).fit(model, x, y, { loss, batchSize: 16, maxSteps: 2, verbose: 0, ...extra })).rejects.toThrow(message);
      model.dispose();
    };
    const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');
    const before = tf.memory().numTensors;
    for (const engine of ['model', 'closure', 'auto'] as const) {
      await fails(() => tinyMlp(2), errorRate, { engine }, /earlyRejection needs one loss per example, but the model's loss is a function/);
      await fails(() => regularizedMlp(2), 'categoricalCrossentropy', { engine }, /earlyRejection needs a loss that is a mean or a sum over examples, but the model has \d+ regularizer penalties/);
    }
    await fails(() => tinyMlp(2), 'categoricalCrossentropy', { workers: nodeWorkers(3) }, /earlyRejection.minExamples \(2\) must be at least the number of threads \(3\)/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('throws in runSteps for an evaluator that cannot evaluate part of a batch, leaving the weight as it was', () => {
    const v = tf.variable(tf.tensor1d([0.5, -0.5]), true, 'er/kernel');
    const opt = new RSOOptimizer({ earlyRejection: rule });
    opt.bind([v]);
    const w = Float32Array.from([0.5, -0.5]);
    const plain = { read: (_t: number, i: number) => w[i]!, write: (_t: number, i: number, x: number) => void (w[i] = x), evaluate: () => [1, 0, 2] };
    expect(() => opt.runSteps(plain)).toThrow(/earlyRejection: this evaluator cannot evaluate part of a batch/);
    expect(Array.from(w)).toEqual([0.5, -0.5]);
    expect(opt.searchState().step).toBe(0);
    v.dispose();
  });

  it('evaluates block moves on the full batch, and scalar steps in stages, in one run (seed 21)', async () => {
    const { x, y } = toyData(128, [6, 6, 1], 18);
    const before = tf.memory().numTensors;
    const r = await fitRun(() => tinyConvSeq(4), x, y, { moves: channelBlocks(), earlyRejection: earlyRejection({ stages: [0.25, 0.5, 1], errorRate: 0.2, minExamples: 8 }) }, { batchSize: 64, maxSteps: 80, engine: 'model' });
    // Every step is counted once; scalar steps (biases, BN) may stop early, block moves go to the full batch.
    expect(r.decided.reduce((a, b) => a + b, 0)).toBe(80);
    expect(r.evaluated[2]).toBe(r.decided[2]);
    const blocks = r.steps.filter((st) => st.block).length;
    expect(blocks).toBeGreaterThan(10);
    expect(r.decided[2]).toBeGreaterThanOrEqual(blocks);
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('keeps σ adaptation working beside it (both policies in one config)', () => {
    const c = parseConfig({ earlyRejection: rule, sigmaAdaptation: successRule() });
    expect(c.earlyRejection).not.toBeNull();
    expect(serializeConfig(c)).toHaveProperty('earlyRejection');
  });
});
