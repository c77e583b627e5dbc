// The threshold switch (examples/lib/threshold-switch.ts): the per-channel step fit is the best split (checked
// against every split by brute force), and the switch folds each fit where the twin computes s · 1{y > t}.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ThresholdLayer } from '../examples/lib/straight-through.js';
import { fitStep, switchToThresholds, thresholdTwin } from '../examples/lib/threshold-switch.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

/** Σ (r − b − s · 1{y > t})² with b, s the least-squares values for that split. */
function residualAt(y: Float32Array, r: Float32Array, cut: number): number {
  const lo = [...r].filter((_, i) => y[i]! <= cut);
  const hi = [...r].filter((_, i) => y[i]! > cut);
  const sse = (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / Math.max(v.length, 1);
    return v.reduce((s, x) => s + (x - m) ** 2, 0);
  };
  return sse(lo) + sse(hi);
}

describe('fitStep', () => {
  it('recovers an exact step', () => {
    const y = Float32Array.from([-2, -1, 0.2, 0.4, 0.6, 1, 3]);
    const r = y.map((v) => (v > 0.5 ? 2 : 0));
    const f = fitStep(y, r);
    expect(f.cut).toBeCloseTo(0.5, 6);
    expect(f.height).toBeCloseTo(2, 6);
    expect(f.sse).toBeCloseTo(0, 9);
  });

  it('finds the best split of any sample, and its residual is the one it reports', () => {
    const sample = fc.array(fc.tuple(fc.float({ min: -4, max: 4, noNaN: true }), fc.float({ min: 0, max: 4, noNaN: true })), { minLength: 2, maxLength: 24 });
    fc.assert(
      fc.property(sample, (pairs) => {
        const y = Float32Array.from(pairs.map((p) => p[0]));
        const r = Float32Array.from(pairs.map((p) => p[1]));
        const f = fitStep(y, r);
        expect(f.sse).toBeCloseTo(residualAt(y, r, f.cut), 3);
        const cuts = [...new Set(y)].sort((a, b) => a - b);
        for (const c of cuts) expect(f.sse).toBeLessThanOrEqual(residualAt(y, r, c) + 1e-3);
      }),
      { numRuns: 200 },
    );
  });
});

/** input 6×6×1 → conv 3 → BN → b1_relu → conv 3 → BN → b2_relu → GAP → Dense 2 (softmax); seeded. */
function floatNet(): tfl.Sequential {
  const init = (seed: number) => tfl.initializers.heNormal({ seed });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1) }),
      tfl.layers.batchNormalization({ betaInitializer: tfl.initializers.randomNormal({ stddev: 0.5, seed: 4 }) }),
      tfl.layers.activation({ activation: 'relu', name: 'b1_relu' }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(2) }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu', name: 'b2_relu' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

describe('switchToThresholds', () => {
  it('swaps every *_relu for a threshold and keeps the other weights', async () => {
    const float = floatNet();
    const twin = await thresholdTwin(float, false);
    expect(twin.layers.filter((l) => l instanceof ThresholdLayer).map((l) => l.name)).toEqual(['b1_relu', 'b2_relu']);
    const [a, b] = [float.getWeights(), twin.getWeights()];
    expect(b.length).toBe(a.length);
    a.forEach((w, i) => expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(w.dataSync())));
    float.dispose();
    twin.dispose();
  });

  it('folds each fit: the threshold sees y − t, the next kernel is scaled by s per input channel; no tensor leaks', async () => {
    const float = floatNet();
    const twin = await thresholdTwin(float, false);
    const x = tf.randomNormal([40, 6, 6, 1], 0, 1, 'float32', 9);
    const betaBefore = twin.layers[1]!.getWeights()[1]!.dataSync().slice();
    const kernelBefore = twin.layers[3]!.getWeights()[0]!.dataSync().slice();
    const before = tf.memory().numTensors;
    const fits = switchToThresholds(float, twin, x);
    expect(tf.memory().numTensors).toBe(before);
    expect(fits.map((f) => f.layer)).toEqual(['b1_relu', 'b2_relu']);
    const beta = twin.layers[1]!.getWeights()[1]!.dataSync();
    beta.forEach((b, c) => expect(b).toBeCloseTo(betaBefore[c]! - fits[0]!.cuts[c]!, 5));
    const kernel = twin.layers[3]!.getWeights()[0]!.dataSync();
    // Kernel [3, 3, cin 3, cout 3]: element i has input channel ⌊i / 3⌋ mod 3.
    kernel.forEach((k, i) => expect(k).toBeCloseTo(kernelBefore[i]! * fits[0]!.heights[Math.floor(i / 3) % 3]!, 5));
    for (const f of fits) {
      expect(f.residual).toBeGreaterThanOrEqual(0);
      expect(f.residual).toBeLessThan(1);
    }
    tf.dispose(x);
    float.dispose();
    twin.dispose();
  });

  it('brings the twin closer to the float model than the plain swap', async () => {
    const float = floatNet();
    const plain = await thresholdTwin(float, false);
    const twin = await thresholdTwin(float, false);
    const x = tf.randomNormal([200, 6, 6, 1], 0, 1, 'float32', 11);
    switchToThresholds(float, twin, x);
    const gap = (m: tfl.LayersModel) => tf.tidy(() => tf.mean(tf.abs(tf.sub(m.predict(x) as tf.Tensor, float.predict(x) as tf.Tensor))).dataSync()[0]!);
    expect(gap(twin)).toBeLessThan(gap(plain));
    tf.dispose(x);
    [float, plain, twin].forEach((m) => m.dispose());
  });

  it('with refit, the next kernels refitted by least squares bring the twin closer still; no tensor leaks', async () => {
    const float = floatNet();
    const folded = await thresholdTwin(float, false);
    const refitted = await thresholdTwin(float, false);
    const x = tf.randomNormal([200, 6, 6, 1], 0, 1, 'float32', 12);
    switchToThresholds(float, folded, x);
    const before = tf.memory().numTensors;
    switchToThresholds(float, refitted, x, { refit: true });
    expect(tf.memory().numTensors).toBe(before);
    const gap = (m: tfl.LayersModel) => tf.tidy(() => tf.mean(tf.abs(tf.sub(m.predict(x) as tf.Tensor, float.predict(x) as tf.Tensor))).dataSync()[0]!);
    expect(gap(refitted)).toBeLessThan(gap(folded));
    tf.dispose(x);
    [float, folded, refitted].forEach((m) => m.dispose());
  });
});
