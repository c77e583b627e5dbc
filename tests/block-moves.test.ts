import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, channelBlocks } from '../src/index.js';
import type { RSOConfig } from '../src/index.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu, weightsOf } from './helpers.js';
import { sharedSteps, straightAndResumed, threadSteps } from './run-helpers.js';

beforeAll(useCpu);

const config: RSOConfig = { seed: 5, cycles: 3, moves: channelBlocks() };

/** The scalars of each trainable tensor that differ between two weight lists. */
const changed = (a: readonly Float32Array[], b: readonly Float32Array[]) => a.map((w, t) => Array.from(w.keys()).filter((i) => w[i] !== b[t]![i]));
const trainable = (m: tfl.LayersModel) => m.trainableWeights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));

describe('channelBlocks', () => {
  it('rejects bad options naming the field, and rebuilds from its config', () => {
    expect(() => channelBlocks({ norm: 0 })).toThrow(/channelBlocks.norm/);
    expect(() => channelBlocks({ norm: Number.NaN })).toThrow(/channelBlocks.norm/);
    expect(() => channelBlocks({ nrom: 1 } as never)).toThrow(/unknown field "nrom"/);
    expect(() => new RSOOptimizer({ moves: { name: 'chanelBlocks' } })).toThrow(/did you mean "channelBlocks"/);
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (norm) => {
        const rebuilt = RSOOptimizer.fromConfig(RSOOptimizer, new RSOOptimizer({ moves: channelBlocks({ norm }) }).getConfig()) as RSOOptimizer;
        expect(rebuilt.config.moves?.norm).toBe(norm);
      }),
      { seed: 20261130, numRuns: 100 },
    );
  });
});

describe('block moves in rso.fit', () => {
  it('move every weight feeding one output channel at an accepted kernel step, and biases and BN parameters one at a time', async () => {
    const { x, y } = toyData(32, [8], 3);
    const model = tinyMlp(2);
    const opt = new RSOOptimizer(config);
    const before = tf.memory().numTensors;
    let previous = trainable(model);
    let blocks = 0;
    let scalars = 0;
    await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 120, verbose: 0, batchNormSamples: 0, engine: 'model',
      callbacks: {
        onBatchEnd: async () => {
          const now = trainable(model);
          const r = opt.lastStepResult!;
          const moved = changed(previous, now);
          previous = now;
          const shape = model.trainableWeights[r.tensor]!.shape;
          if (r.accepted === 0) return void expect(moved.flat()).toEqual([]);
          if (shape.length === 2) {
            // A Dense kernel [in, out]: the whole column of the scalar's output unit.
            const cout = shape[1]!;
            expect(moved[r.tensor]).toEqual(Array.from({ length: shape[0]! }, (_, i) => i * cout + (r.flat % cout)));
            expect(Array.from(r.block!.flats)).toEqual(moved[r.tensor]);
            blocks++;
          } else {
            expect(moved[r.tensor]).toEqual([r.flat]);
            expect(r.block).toBeNull();
            scalars++;
          }
          expect(moved.filter((_m, t) => t !== r.tensor).flat()).toEqual([]);
        },
      },
    });
    expect(blocks).toBeGreaterThan(20);
    expect(scalars).toBeGreaterThan(5);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('give Δ the length norm · σ over the block (Rademacher draws: exactly, up to float32 rounding)', async () => {
    const { x, y } = toyData(32, [6, 6, 1], 4);
    const model = tinyConvSeq(2);
    const opt = new RSOOptimizer({ ...config, moves: channelBlocks({ norm: 3 }), sigmaBase: 0.05, distribution: { name: 'rademacher' } });
    const ratios: number[] = [];
    await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 60, verbose: 0, batchNormSamples: 0,
      callbacks: {
        onBatchEnd: async () => {
          const r = opt.lastStepResult!;
          if (r.block === null) return;
          const [w, plus] = r.block.candidates as [Float32Array, Float32Array];
          const length = Math.hypot(...Array.from(w, (v, i) => plus[i]! - v));
          // σ = 0.05 everywhere, and the schedule's factor is 1 in cycle 0 (60 steps of a 135-scalar net).
          expect(opt.cycle).toBe(0);
          ratios.push(length / (3 * 0.05));
        },
      },
    });
    expect(ratios.length).toBeGreaterThan(30);
    for (const q of ratios) expect(q).toBeCloseTo(1, 4);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('save with the model: load and continue gives the weights of an uninterrupted run', async () => {
    const { x, y } = toyData(64, [8], 3);
    const { straight, first, resumed } = await straightAndResumed(() => tinyMlp(2), config, x, y, 47, 100);
    expect((resumed.optimizer as RSOOptimizer).config.moves?.norm).toBe(1);
    expect(Buffer.from(weightsOf(resumed).buffer).equals(Buffer.from(weightsOf(straight).buffer))).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
    tf.dispose([x, y]);
  });

  it('give worker threads the same moves: 2 threads make the decisions of 1 up to near-ties', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 9);
    const [one, two] = [await threadSteps(() => tinyConvSeq(3), config, x, y, 1), await threadSteps(() => tinyConvSeq(3), config, x, y, 2)];
    expect(sharedSteps(one, two)).toBeGreaterThanOrEqual(80);
    tf.dispose([x, y]);
  });

  it('refuse weight regularizers with the model engine, naming both, and leave the weights as they were', async () => {
    const { x, y } = toyData(16, [8], 3);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 3, activation: 'softmax', kernelRegularizer: tfl.regularizers.l2({ l2: 0.01 }) })] });
    const start = weightsOf(model);
    const opt = new RSOOptimizer(config);
    await expect(opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 8, maxSteps: 4, verbose: 0, engine: 'model' })).rejects.toThrow(/block moves .* weight regularizers/);
    expect(Buffer.from(weightsOf(model).buffer).equals(Buffer.from(start.buffer))).toBe(true);
    model.dispose();
    tf.dispose([x, y]);
  });
});
