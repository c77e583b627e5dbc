import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { createChannelNorm } from '../src/engine/channel-norm.js';
import { useCpu } from './helpers.js';

afterAll(useCpu);

const axesOf = (x: tf.Tensor) => Array.from({ length: x.rank - 1 }, (_, i) => i);

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`channel norm on ${backend}`, () => {
    it('gives the statistics of tf.moments bit for bit, and normalises as tf.batchNorm does up to rounding', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const before = tf.memory().numTensors;
      const norm = createChannelNorm();
      for (const shape of [[40, 7, 7, 16], [40, 9, 9, 1], [64, 12]]) {
        tf.tidy(() => {
          const c = shape[shape.length - 1]!;
          // Channels with offsets far from zero, where float32 moments are delicate.
          const x = tf.add(tf.randomNormal(shape, 0, 1.5, 'float32', 3), tf.randomUniform([c], -20, 20, 'float32', 4));
          const gamma = tf.randomUniform([c], 0.5, 2, 'float32', 5);
          const beta = tf.randomUniform([c], -1, 1, 'float32', 6);
          const ref = tf.moments(x, axesOf(x));
          const m = norm.moments(x);
          expect(m.mean.shape).toEqual([c]);
          expect(Array.from(m.mean.dataSync())).toEqual(Array.from(ref.mean.dataSync()));
          expect(Array.from(m.variance.dataSync())).toEqual(Array.from(ref.variance.dataSync()));
          const y = norm.normalize(x, m.mean, m.variance, beta, gamma, 1e-3);
          const want = tf.batchNorm(x, ref.mean, ref.variance, beta, gamma, 1e-3);
          expect(y.shape).toEqual(x.shape);
          // The scaling rounds differently from tf.batchNorm: within 2 units in the last place of the largest output.
          const ulps = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / (tf.max(tf.abs(b)).dataSync()[0]! * 2 ** -23);
          expect(ulps(y, want)).toBeLessThanOrEqual(2);
          const plain = norm.normalize(x, m.mean, m.variance, null, null, 1e-3);
          const wantPlain = tf.batchNorm(x, ref.mean, ref.variance, undefined, undefined, 1e-3);
          expect(ulps(plain, wantPlain)).toBeLessThanOrEqual(2);
        });
      }
      norm.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('normalises one channel alone bit for bit as among the others (the delta path relies on it)', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const norm = createChannelNorm();
      tf.tidy(() => {
        const x = tf.add(tf.randomNormal([30, 6, 6, 8], 0, 1, 'float32', 7), tf.randomUniform([8], -3, 3, 'float32', 8));
        const gamma = tf.randomUniform([8], 0.5, 2, 'float32', 9);
        const beta = tf.randomUniform([8], -1, 1, 'float32', 10);
        const m = norm.moments(x);
        const all = norm.normalize(x, m.mean, m.variance, beta, gamma, 1e-3);
        for (const co of [0, 5, 7]) {
          const xc = tf.slice(x, [0, 0, 0, co], [-1, -1, -1, 1]);
          const mc = norm.moments(xc);
          expect(mc.mean.dataSync()[0]).toBe(m.mean.dataSync()[co]);
          expect(mc.variance.dataSync()[0]).toBe(m.variance.dataSync()[co]);
          const alone = norm.normalize(xc, mc.mean, mc.variance, tf.slice(beta, [co], [1]), tf.slice(gamma, [co], [1]), 1e-3);
          expect(Array.from(alone.dataSync())).toEqual(Array.from(tf.slice(all, [0, 0, 0, co], [-1, -1, -1, 1]).dataSync()));
        }
      });
      norm.dispose();
    });

    it('takes one channel out with the values of tf.slice', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const before = tf.memory().numTensors;
      const norm = createChannelNorm();
      // −0 may come out as +0; adding +0 maps −0 to +0 on both sides and leaves every other value as it is.
      const values = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);
      for (const shape of [[40, 7, 7, 16], [64, 12], [10, 5, 5, 1]]) {
        tf.tidy(() => {
          const c = shape[shape.length - 1]!;
          // Mixed magnitudes, exact zeros (a ReLU's output) and a subnormal.
          const x = tf.mul(tf.relu(tf.randomNormal(shape, 0.2, 1, 'float32', 11)), tf.randomUniform(shape, -1e6, 1e6, 'float32', 12));
          const withTiny = tf.concat([tf.fill([1, ...shape.slice(1, -1), c], 1e-40), tf.slice(x, [1], [-1])]);
          for (const co of new Set([0, Math.floor(c / 2), c - 1])) {
            const want = tf.slice(withTiny, shape.map((_, i) => (i === shape.length - 1 ? co : 0)), [...shape.slice(0, -1), 1]);
            const got = norm.channel(withTiny, co);
            expect(got.shape).toEqual(want.shape);
            expect(values(got)).toEqual(values(want));
          }
        });
      }
      norm.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('computes one output channel of a convolution, as tf.conv2d does up to rounding', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const before = tf.memory().numTensors;
      const norm = createChannelNorm();
      for (const [shape, k] of [[[20, 9, 9, 16], 3], [[12, 6, 6, 3], 2], [[8, 5, 5, 1], 3]] as const) {
        tf.tidy(() => {
          const cin = shape[3];
          const x = tf.randomNormal([...shape], 0, 1, 'float32', 13) as tf.Tensor4D;
          const kernel = tf.randomNormal([k, k, cin, 5], 0, 0.3, 'float32', 14) as tf.Tensor4D;
          const full = tf.conv2d(x, kernel, 1, 'same');
          for (const co of [0, 2, 4]) {
            const want = tf.slice(full, [0, 0, 0, co], [-1, -1, -1, 1]);
            const got = norm.convChannel(x, kernel, co);
            expect(got.shape).toEqual(want.shape);
            // Each output sums k·k·cin products: bound the difference by a few ulps of the sum of their magnitudes.
            const magnitude = tf.slice(tf.conv2d(tf.abs(x), tf.abs(kernel), 1, 'same'), [0, 0, 0, co], [-1, -1, -1, 1]);
            const worst = tf.max(tf.sub(tf.abs(tf.sub(got, want)), tf.mul(magnitude, 8 * 2 ** -23))).dataSync()[0]!;
            expect(worst).toBeLessThanOrEqual(0);
            if (backend === 'cpu') expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
          }
        });
      }
      norm.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
