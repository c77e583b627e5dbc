import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, piecewiseSchedule } from '../src/index.js';
import type { RSOFitArgs } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

interface Step {
  readonly tensor: number;
  readonly flat: number;
  readonly accepted: number;
  readonly losses: number[];
}

/** rso.fit with a batch-size schedule; records each batch's size per cycle and each step. */
async function run(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, args: RSOFitArgs) {
  const model = build();
  const opt = new RSOOptimizer({ seed: 8, cycles: 3 });
  const sizes: number[][] = [];
  const steps: Step[] = [];
  await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy',
    verbose: 0,
    batchNormSamples: 0,
    ...args,
    callbacks: {
      onEpochBegin: async () => void sizes.push([]),
      onBatchBegin: async (_b, logs) => void sizes[sizes.length - 1]!.push(Number(logs?.['size'])),
      onBatchEnd: async () => {
        const r = opt.lastStepResult!;
        steps.push({ tensor: r.tensor, flat: r.flat, accepted: r.accepted, losses: Array.from(r.losses) });
      },
    },
  });
  return { model, opt, sizes, steps };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** The two runs make the same steps with losses within 1e-5, up to a reported near-tie after at least `min` steps. */
function expectSameSteps(a: readonly Step[], b: readonly Step[], min: number): void {
  expect(b.length).toBe(a.length);
  let same = 0;
  for (; same < a.length; same++) {
    const [ra, rb] = [a[same]!, b[same]!];
    expect([rb.tensor, rb.flat]).toEqual([ra.tensor, ra.flat]);
    ra.losses.forEach((l, k) => expect(relErr(l, rb.losses[k]!)).toBeLessThan(1e-5));
    if (ra.accepted !== rb.accepted) {
      expect(relErr(ra.losses[ra.accepted]!, ra.losses[rb.accepted]!)).toBeLessThan(1e-6);
      break;
    }
  }
  expect(same).toBeGreaterThanOrEqual(min);
}

describe('a batch-size schedule in rso.fit', () => {
  it('gives each cycle its batch size, every row once per pass, with the closure path and the model engine alike', async () => {
    const { x, y } = toyData(60, [8], 4);
    // A cycle of tinyMlp visits 95 scalars; cycles 0, 1, 2 take batches of 8, 16 and 60 (capped at the 60 rows).
    const batchSize = piecewiseSchedule({ boundaries: [1, 2], values: [8, 16, 100] });
    const before = tf.memory().numTensors;
    const model = await run(() => tinyMlp(3), x, y, { batchSize, cycles: 3, engine: 'model' });
    const closure = await run(() => tinyMlp(3), x, y, { batchSize: batchSize.config, cycles: 3, engine: 'closure' });
    expect(model.sizes.map((c) => [...new Set(c)])).toEqual([[8, 4], [16, 12], [60]]);
    // A pass holds every row: 7 batches of 8 and one of 4, then 3 of 16 and one of 12, then one of 60.
    expect(model.sizes[0]!.slice(0, 8).reduce((a, b) => a + b, 0)).toBe(60);
    expect(model.sizes[1]!.slice(0, 4).reduce((a, b) => a + b, 0)).toBe(60);
    expect(closure.sizes).toEqual(model.sizes);
    expectSameSteps(closure.steps, model.steps, 150);
    for (const r of [model, closure]) r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('runs the same schedule in worker threads, with the decisions of one thread up to near-ties', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 6);
    const batchSize = piecewiseSchedule({ boundaries: [1], values: [24, 48] });
    const args = { batchSize, cycles: 2, maxSteps: 200, engine: 'model' as const };
    const one = await run(() => tinyConvSeq(2), x, y, args);
    const two = await run(() => tinyConvSeq(2), x, y, { ...args, workers: nodeWorkers(2) });
    expect(two.sizes).toEqual(one.sizes);
    expect(new Set(one.sizes.flat())).toEqual(new Set([24, 48]));
    expectSameSteps(one.steps, two.steps, 100);
    for (const r of [one, two]) r.model.dispose();
    tf.dispose([x, y]);
  });

  it('rejects a schedule that gives a bad size, or that threads cannot rebuild, before training', async () => {
    const { x, y } = toyData(32, [8], 1);
    const model = tinyMlp(1);
    const fit = (args: RSOFitArgs) => new RSOOptimizer({ seed: 1, cycles: 3 }).fit(model, x, y, { loss: 'categoricalCrossentropy', verbose: 0, ...args });
    await expect(fit({ batchSize: piecewiseSchedule({ boundaries: [2], values: [8, 0] }) })).rejects.toThrow(/batchSize: the schedule must return a number ≥ 1, got 0 at cycle 2/);
    await expect(fit({ batchSize: (c: number) => (c === 1 ? NaN : 8) })).rejects.toThrow(/batchSize: the schedule must return a number ≥ 1, got NaN at cycle 1/);
    await expect(fit({ batchSize: { name: 'piecewize', boundaries: [1], values: [8, 16] } })).rejects.toThrow(/batchSize: unknown schedule "piecewize" \(did you mean "piecewise"\?\)/);
    await expect(fit({ batchSize: () => 8, workers: nodeWorkers(2) })).rejects.toThrow(/worker threads need a batchSize schedule they can rebuild/);
    await expect(fit({ batchSize: piecewiseSchedule({ boundaries: [1], values: [16, 31] }), workers: nodeWorkers(2) })).rejects.toThrow(/at batchSize 31 \(cycle 1\) the last batch of a pass over 32 examples has 1/);
    // Nothing trained.
    expect(model.optimizer).toBeUndefined();
    model.dispose();
    tf.dispose([x, y]);
  });
});
