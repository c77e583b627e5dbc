import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

// Save, load and continue against an uninterrupted run: every row of tests/feature-table.ts (tests/features.test.ts).
describe('restoring a saved state', () => {
  it('setWeights rejects a state of another shape, naming what it expected', async () => {
    const opt = new RSOOptimizer();
    await expect(opt.setWeights([{ name: 'rso/state', tensor: tf.tensor1d([1, 2, 3], 'int32') }])).rejects.toThrow(/missing state part "rso\/sigma"; got \[rso\/state\]/);
    const bad = [
      { name: 'rso/state', tensor: tf.tensor1d([1, 2, 3], 'int32') },
      { name: 'rso/sigma', tensor: tf.tensor1d([]) },
    ];
    await expect(opt.setWeights(bad)).rejects.toThrow(/expected 264 int32 values/);
  });
});
