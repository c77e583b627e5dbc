import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, reestimateBatchNorm } from '../src/index.js';
import { tinyDense, tinyResidual, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

describe('RSOOptimizer.fit', () => {
  it('runs whole cycles, calls tfjs callbacks in order and returns a History with validation logs', async () => {
    const { x, y } = toyData(100, [4]);
    const model = tinyDense(4);
    const opt = new RSOOptimizer({ seed: 3, cycles: 2 });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const events: string[] = [];
    let batchEnds = 0;
    const before = tf.memory().numTensors;
    const history = await opt.fit(model, x, y, {
      batchSize: 25,
      validationSplit: 0.2,
      verbose: 0,
      callbacks: {
        onTrainBegin: async () => void events.push('trainBegin'),
        onEpochBegin: async (e: number) => void events.push(`epochBegin ${e}`),
        onBatchEnd: async () => void batchEnds++,
        onEpochEnd: async (e: number, logs?: tfl.Logs) => void events.push(`epochEnd ${e} ${Object.keys(logs!).sort().join(',')}`),
        onTrainEnd: async () => void events.push('trainEnd'),
      },
    });
    // tinyDense has 4·6+6 + 6+6 + 6·3+3 = 63 scalars, so 2 cycles = 126 steps, one per batch.
    expect(opt.step).toBe(126);
    expect(opt.cycle).toBe(2);
    expect(batchEnds).toBe(126);
    expect(events).toEqual([
      'trainBegin',
      'epochBegin 0',
      'epochEnd 0 acc,loss,val_acc,val_loss',
      'epochBegin 1',
      'epochEnd 1 acc,loss,val_acc,val_loss',
      'trainEnd',
    ]);
    expect(history.history['val_acc']!.length).toBe(2);
    const loss = history.history['loss'] as number[];
    expect(loss[1]!).toBeLessThan(loss[0]!);
    expect(tf.memory().numTensors).toBe(before + 0);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('stops early through model.stopTraining (tf.callbacks.earlyStopping-style) and at maxSteps', async () => {
    const { x, y } = toyData(60, [4]);
    const model = tinyDense(4);
    const opt = new RSOOptimizer({ seed: 3 });
    await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy',
      batchSize: 20,
      verbose: 0,
      callbacks: { onBatchEnd: async (b: number) => void (b === 9 && (model.stopTraining = true)) },
    });
    expect(opt.step).toBe(10);
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 20, verbose: 0, maxSteps: 7 });
    expect(opt.step).toBe(17);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('works with tfjs callback objects such as earlyStopping', async () => {
    const { x, y } = toyData(60, [4]);
    const model = tinyDense(4);
    const opt = new RSOOptimizer({ seed: 3 });
    const history = await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy',
      batchSize: 20,
      cycles: 20,
      verbose: 0,
      validationData: [x, y],
      callbacks: [tfl.callbacks.earlyStopping({ monitor: 'val_loss', patience: 0, minDelta: 10 })],
    });
    // minDelta 10 can never be met: training stops after the second cycle.
    expect(history.history['val_loss']!.length).toBe(2);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('honours a time budget', async () => {
    const { x, y } = toyData(60, [6, 6, 1]);
    const model = tinyResidual(1);
    const opt = new RSOOptimizer({ seed: 3 });
    const t0 = Date.now();
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 20, cycles: 100, verbose: 0, timeBudgetSeconds: 0.5 });
    // Stopped long before 100 cycles (behaviour, not a timing assertion on speed).
    expect(opt.cycle).toBeLessThan(100);
    expect(opt.step).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('gives the same weights for the same seed, shuffle included', async () => {
    const run = async () => {
      const { x, y } = toyData(80, [4]);
      const model = tinyDense(2);
      await new RSOOptimizer({ seed: 12 }).fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 40, verbose: 0 });
      const w = model.getWeights().map((t) => Array.from(t.dataSync()));
      model.dispose();
      tf.dispose([x, y]);
      return w;
    };
    expect(await run()).toEqual(await run());
  });

  it('rejects mismatched data and bad arguments, naming them', async () => {
    const model = tinyDense();
    const opt = new RSOOptimizer();
    const x = tf.zeros([10, 4]);
    const y = tf.zeros([9, 3]);
    await expect(opt.fit(model, x, y, { loss: 'categoricalCrossentropy', verbose: 0 })).rejects.toThrow(/y has 9 examples but x has 10/);
    await expect(opt.fit(model, x, x, { loss: 'categoricalCrossentropy', batchSize: 0, verbose: 0 })).rejects.toThrow(/batchSize must be an integer ≥ 1, got 0/);
    await expect(opt.fit(model, x, x, { loss: 'categoricalCrossentropy', validationSplit: 1.5, verbose: 0 })).rejects.toThrow(/validationSplit must be < 1, got 1.5/);
    model.dispose();
    tf.dispose([x, y]);
  });
});

describe('reestimateBatchNorm', () => {
  it('sets BN moving statistics to the batch statistics of the sample, and restores momentum', () => {
    const model = tfl.sequential({ layers: [tfl.layers.batchNormalization({ inputShape: [2] })] });
    const x = tf.tensor2d([[1, 10], [3, 30]]);
    reestimateBatchNorm(model, x);
    const [, , mean, variance] = model.getWeights().map((w) => Array.from(w.dataSync()));
    // Batch mean [2, 20]; batch variance [1, 100].
    expect(mean![0]).toBeCloseTo(2, 5);
    expect(mean![1]).toBeCloseTo(20, 5);
    expect(variance![0]).toBeCloseTo(1, 4);
    expect(variance![1]).toBeCloseTo(100, 3);
    expect((model.layers[0] as unknown as { momentum: number }).momentum).toBe(0.99);
    model.dispose();
    x.dispose();
  });
});
