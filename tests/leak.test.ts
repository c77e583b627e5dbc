import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

describe('long run', () => {
  it('keeps tf.memory().numTensors flat over 2,400 steps (fit with metrics, then trainOnBatch)', async () => {
    const { x, y } = toyData(200, [4]);
    const model = tinyDense(5);
    const opt = new RSOOptimizer({ seed: 8, stepsPerBatch: 20 });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    await model.fit(x, y, {
      batchSize: 20,
      epochs: 10,
      shuffle: false,
      verbose: 0,
      callbacks: { onEpochEnd: async () => void counts.push(tf.memory().numTensors) },
    });
    for (let i = 0; i < 20; i++) await model.trainOnBatch(x, y);
    const after = tf.memory().numTensors;
    console.log(`leak test: ${opt.step} steps, numTensors before ${before}, after ${after}, per epoch ${counts.join(',')}`);
    expect(opt.step).toBe(2400);
    expect(after).toBe(before);
    expect(new Set(counts).size).toBe(1);
    model.dispose();
    tf.dispose([x, y]);
  });
});
