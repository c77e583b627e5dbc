import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, fastPreset } from '../src/index.js';
import { tinyConvSeq, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

describe('fastPreset', () => {
  it('lists one deviation per option it sets, and schedules the batch size 250, 500, then 1000', () => {
    const fast = fastPreset();
    expect(Object.keys(fast.config).sort()).toEqual(['moves', 'probeReuse', 'sigmaAdaptation']);
    expect(fast.deviations).toHaveLength(4);
    expect(fast.deviations.join(' ')).toMatch(/channelBlocks.*successRule.*parabolicStep.*piecewiseSchedule/s);
    expect([0, 1, 2, 3, 10].map((c) => (fast.batchSize as (c: number) => number)(c))).toEqual([250, 500, 1000, 1000, 1000]);
    // Fresh policies per call: a caller can change one preset without touching another.
    expect(fastPreset().config.moves).not.toBe(fast.config.moves);
  });

  it('trains with rso.fit as given: block moves, adapted σ, probe reuse, the scheduled batch sizes, and a falling loss', async () => {
    const { x, y } = toyData(500, [6, 6, 1], 3);
    const fast = fastPreset();
    const model = tinyConvSeq(2);
    const opt = new RSOOptimizer({ ...fast.config, seed: 4, cycles: 3 });
    const before = tf.memory().numTensors;
    const sizes = new Set<number>();
    let blocks = 0;
    let between = 0;
    const history = await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy', batchSize: fast.batchSize, cycles: 2, verbose: 0, batchNormSamples: 0,
      callbacks: {
        onBatchBegin: async (_b, logs) => void sizes.add(Number(logs?.['size'])),
        onBatchEnd: async () => {
          const r = opt.lastStepResult!;
          blocks += r.block === null ? 0 : 1;
          // Probe reuse: the written value is none of the three probes.
          if (r.block !== null && !r.block.candidates.some((c) => c[r.block!.flats.indexOf(r.flat)] === r.value)) between++;
        },
      },
    });
    expect([...sizes].sort((a, b) => a - b)).toEqual([250, 500]);
    expect(blocks).toBeGreaterThan(100);
    expect(between).toBeGreaterThan(50);
    expect(Array.from(opt.searchState().adapt!.subarray(0, 4)).some((m) => m !== 1)).toBe(true);
    const losses = history.history['loss'] as number[];
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    tf.dispose([x, y]);
  });
});
