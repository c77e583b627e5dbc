import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyDense, toyData, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

describe('fault injection', () => {
  for (const failOn of [1, 2, 3]) {
    it(`a loss closure that throws on call ${failOn} of a step leaves every weight bit-identical and propagates the error`, async () => {
      const { x, y } = toyData(20, [4]);
      const model = tinyDense(2);
      const opt = new RSOOptimizer({ seed: 6 });
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
      await model.fit(x, y, { batchSize: 10, epochs: 3, shuffle: false, verbose: 0 });
      const before = weightsOf(model);
      const state = opt.searchState();
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      let calls = 0;
      const closure = () =>
        tf.tidy(() => {
          if (++calls === failOn) throw new Error('injected failure');
          return tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
        });
      const tensors = tf.memory().numTensors;
      expect(() => opt.minimize(closure, true, vars)).toThrow('injected failure');
      const after = weightsOf(model);
      // Trainable weights unchanged bit for bit; the step counter and cursor did not move.
      expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
      expect(opt.step).toBe(state.step);
      expect(opt.searchState().rng).toEqual(state.rng);
      expect(tf.memory().numTensors).toBe(tensors);
      model.dispose();
      tf.dispose([x, y]);
    });
  }
});
