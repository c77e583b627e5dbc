// Property: rso.fit, given random arguments (valid ones, wrong types, NaN, ±Infinity, huge, negative and
// fractional numbers, unknown keys), throws a RangeError/TypeError that names a field it was given when any
// argument is bad, and otherwise trains within bounds: the requested steps at most, finite weights, and no
// tensor left behind.
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyDense, toyData, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

const SEED = 20261130;
const RUNS = 150;

// null is not bad: as in the optimizer's config, a field set to null takes its default.
const bad = fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, -1, 0.5, 'yes', true, {}, [1]);
/** Each field: its valid values, and its bad ones. */
const fields: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = {
  batchSize: [
    fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constant({ name: 'piecewise', boundaries: [1], values: [4, 12] })),
    fc.oneof(bad, fc.constant(0), fc.constant({ name: 'constant', value: 0 }), fc.constant({ name: 'linear', form: 3 })),
  ],
  maxSteps: [fc.integer({ min: 1, max: 12 }), fc.oneof(bad, fc.constant(0))],
  cycles: [fc.integer({ min: 1, max: 3 }), fc.oneof(bad, fc.constant(0))],
  timeBudgetSeconds: [fc.double({ min: 0.01, max: 2, noNaN: true }), fc.oneof(bad, fc.constant(0))],
  lossReduction: [fc.constantFrom('mean', 'sum'), fc.oneof(bad, fc.constant('median'))],
  shuffle: [fc.boolean(), bad.filter((v) => v !== true)],
  validationSplit: [fc.double({ min: 0, max: 0.5, noNaN: true }), fc.oneof(bad, fc.constant(1), fc.constant(1e300))],
  validationBatchSize: [fc.integer({ min: 1, max: 64 }), fc.oneof(bad, fc.constant(0))],
  batchNormSamples: [fc.integer({ min: 0, max: 40 }), fc.oneof(bad)],
  verbose: [fc.constant(0), fc.oneof(bad, fc.constant(2))],
  yieldEvery: [fc.oneof(fc.constantFrom('auto', 'batch', 'epoch', 'never'), fc.integer({ min: 0, max: 50 })), fc.oneof(bad, fc.constant('often'))],
  engine: [fc.constantFrom('auto', 'model', 'closure'), fc.oneof(bad, fc.constant('fast'))],
  cacheBytes: [fc.integer({ min: 0, max: 1e9 }), bad.filter((v) => v !== 0.5)],
  batchCandidates: [fc.boolean(), bad.filter((v) => v !== true)],
  epochs: [fc.constant(undefined), fc.integer({ min: 1, max: 3 })],
  batchSzie: [fc.constant(undefined), fc.integer({ min: 1, max: 3 })],
};

/** A drawn argument object, and whether every field in it came from the valid side. */
const argsArb = fc
  .dictionary(fc.constantFrom(...Object.keys(fields)), fc.boolean(), { maxKeys: 5 })
  .chain((choice) => {
    const entries = Object.entries(choice).map(([k, good]) => fc.tuple(fc.constant(k), good ? fields[k]![0] : fields[k]![1], fc.constant(good)));
    return fc.tuple(...entries);
  })
  .map((drawn) => ({
    args: Object.fromEntries(drawn.filter(([, v]) => v !== undefined).map(([k, v]) => [k, v])) as Record<string, unknown>,
    valid: drawn.every(([, , good]) => good),
  }));

describe('rso.fit: random arguments', () => {
  it(`gives a clear error naming a field, or a bounded, finite, leak-free run (${RUNS} cases, seed ${SEED})`, async () => {
    const { x, y } = toyData(24, [4]);
    let errors = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(argsArb, async ({ args, valid }) => {
        const before = tf.memory().numTensors;
        const model = tinyDense(3);
        const opt = new RSOOptimizer({ seed: 5 });
        // Bound every run: a few steps unless maxSteps is drawn, and a short time budget unless drawn.
        const bounded = { loss: 'categoricalCrossentropy', maxSteps: 6, timeBudgetSeconds: 2, verbose: 0, ...args };
        try {
          await opt.fit(model, x, y, bounded as never);
          runs++;
          expect(valid, `accepted ${JSON.stringify(args)}`).toBe(true);
          const limit = typeof args['maxSteps'] === 'number' && Number.isFinite(args['maxSteps']) ? (args['maxSteps'] as number) : 6;
          expect(opt.step).toBeLessThanOrEqual(limit);
          expect(weightsOf(model).every(Number.isFinite)).toBe(true);
        } catch (e) {
          if (valid) throw e;
          errors++;
          expect(e instanceof RangeError || e instanceof TypeError, String(e)).toBe(true);
          const named = Object.keys(args).some((k) => (e as Error).message.includes(k));
          expect(named, `${(e as Error).message} names none of ${Object.keys(args).join(', ')}`).toBe(true);
          expect(opt.step).toBe(0);
        } finally {
          model.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`rso.fit argument fuzzing: ${RUNS} cases (seed ${SEED}): ${errors} clear errors, ${runs} runs`);
    expect(errors).toBeGreaterThan(10);
    expect(runs).toBeGreaterThan(10);
    tf.dispose([x, y]);
  });
});
