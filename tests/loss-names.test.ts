/**
 * The loss names `rso.fit` accepts at run time and the ones its types accept are the same list. The type half is
 * checked by `tsc` (`npm run typecheck`, which CI runs, covers tests/): a name the runtime accepts but `LossSpec`
 * does not fails to compile here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { LossName, LossSpec, RSOFitArgs } from '../src/index.js';
import { LOSS_NAMES } from '../src/train/losses.js';
import { lossEntries } from '../src/train/objective.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

/** tfjs-layers' `lossesMap` keys (tfjs-layers/src/losses.ts), written out: what `compile` accepts by name. */
const TFJS_LOSS_NAMES = [
  'meanSquaredError', 'meanAbsoluteError', 'meanAbsolutePercentageError', 'meanSquaredLogarithmicError', 'squaredHinge',
  'hinge', 'categoricalHinge', 'logcosh', 'categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy',
  'kullbackLeiblerDivergence', 'poisson', 'cosineProximity',
] as const satisfies readonly LossSpec[];

describe('loss names: types and runtime agree', () => {
  it('every name the runtime accepts type-checks as a LossSpec and as rso.fit’s loss', () => {
    expectTypeOf<(typeof TFJS_LOSS_NAMES)[number]>().toEqualTypeOf<LossName>();
    expectTypeOf<(typeof LOSS_NAMES)[number]>().toExtend<LossSpec>();
    expectTypeOf<{ loss: 'binaryCrossentropy' }>().toExtend<RSOFitArgs>();
    expectTypeOf<{ loss: ['poisson'] }>().toExtend<RSOFitArgs>();
    expectTypeOf<{ loss: { out: 'hinge' } }>().toExtend<RSOFitArgs>();
    expectTypeOf<{ loss: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor }>().toExtend<RSOFitArgs>();
    expectTypeOf<'binaryCrossEntropy'>().not.toExtend<LossSpec>();
    expectTypeOf<string>().not.toExtend<LossSpec>();
    expect([...LOSS_NAMES].sort()).toEqual([...TFJS_LOSS_NAMES].sort());
  });

  it('the runtime accepts each of those names, and tfjs compiles each', () => {
    const model = tinyDense(1);
    for (const name of TFJS_LOSS_NAMES) {
      expect(lossEntries(model, name, false)).toEqual([name]);
      model.compile({ optimizer: new RSOOptimizer(), loss: name });
    }
    expect(() => lossEntries(model, 'binaryCrossEntropy' as LossName, false)).toThrow(/unknown loss "binaryCrossEntropy" \(did you mean "binaryCrossentropy"\?\)/);
    model.dispose();
  });

  it('rso.fit trains with a name outside the three the old type allowed (binaryCrossentropy)', async () => {
    const { x, y } = toyData(16, [4], 2);
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1 });
    const args: RSOFitArgs = { loss: 'binaryCrossentropy', verbose: 0, batchSize: 8, maxSteps: 3 };
    await opt.fit(model, x, y, args);
    expect(opt.step).toBe(3);
    model.dispose();
    tf.dispose([x, y]);
  });
});
