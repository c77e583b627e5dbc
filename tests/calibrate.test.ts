import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantize, quantizeCalibrated, quantizeModel, quantizedGrid } from '../src/index.js';
import type { QuantizedKernel } from '../src/index.js';
import { patches } from '../src/quantize/calibrate.js';
import { useCpu } from './helpers.js';
import { namedConvSeq } from './quantize-models.js';

beforeAll(useCpu);

const maxCodeOf = (bits: number) => (bits === 1 ? 1 : 2 ** (bits - 1) - 1);

/** Seeded inputs for namedConvSeq: 24 images of 6 × 6. */
function images(seed: number): tf.Tensor4D {
  return tf.randomNormal([24, 6, 6, 1], 0, 1, 'float32', seed);
}

/** ‖rows · (levels − float)‖² of the first conv: the objective calibration minimises there (same inputs). */
function firstLayerError(x: tf.Tensor4D, kernel: QuantizedKernel, floatValues: Float32Array, levels = dequantize(kernel)): number {
  return tf.tidy(() => {
    const rows = patches(x, kernel.shape, [1, 1], 'same');
    const diff = tf.tensor2d(Float32Array.from(levels, (v, k) => v - floatValues[k]!), [rows.shape[1], kernel.shape[3]!]);
    return tf.sum(tf.square(tf.matMul(rows, diff))).dataSync()[0]!;
  });
}

function kernelValues(model: tfl.LayersModel, name: string): Float32Array {
  return model.weights.find((w) => w.name.startsWith(name))!.read().dataSync() as Float32Array;
}

describe('patches', () => {
  it('times the kernel is the convolution, for sizes, strides and both paddings (seeded fast-check)', () => {
    fc.assert(
      fc.property(
        fc.record({ h: fc.integer({ min: 3, max: 7 }), w: fc.integer({ min: 3, max: 7 }), cin: fc.integer({ min: 1, max: 3 }), cout: fc.integer({ min: 1, max: 2 }), k: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 2 }), same: fc.boolean(), seed: fc.integer({ min: 0, max: 1000 }) }),
        ({ h, w, cin, cout, k, stride, same, seed }) => {
          const padding = same ? 'same' : 'valid';
          tf.tidy(() => {
            const x = tf.randomNormal([2, h, w, cin], 0, 1, 'float32', seed) as tf.Tensor4D;
            const kernel = tf.randomNormal([k, k, cin, cout], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
            const conv = tf.conv2d(x, kernel, stride, padding);
            const viaRows = tf.matMul(patches(x, kernel.shape, [stride, stride], padding), tf.reshape(kernel, [k * k * cin, cout]));
            expect(viaRows.shape[0]).toBe(conv.size / cout);
            const gap = tf.max(tf.abs(tf.sub(tf.reshape(conv, [-1, cout]), viaRows))).dataSync()[0]!;
            expect(gap).toBeLessThan(1e-4);
          });
        },
      ),
      { seed: 26, numRuns: 40 },
    );
  });
});

describe('quantizeCalibrated', () => {
  for (const bits of [1, 2, 4]) {
    it(`${bits} bit: writes grid levels, lowers the first layer's output error below round to nearest, and no code alone can lower it`, async () => {
      const x = images(bits);
      const float = namedConvSeq(3);
      const floatFirst = kernelValues(float, 'q_conv1').slice();
      const rtn = namedConvSeq(3);
      const qRtn = quantizeModel(rtn, { bits });
      const model = namedConvSeq(3);
      const before = tf.memory().numTensors;
      const q = quantizeCalibrated(model, x, { bits, samples: 16 });
      expect(tf.memory().numTensors).toBe(before);
      const plain = (name: string) => name.replace(/_\d+$/, '');
      expect(q.kernels.map((k) => plain(k.name))).toEqual(qRtn.kernels.map((k) => plain(k.name)));
      for (const k of q.kernels) {
        expect(Array.from(kernelValues(model, k.name))).toEqual(Array.from(dequantize(k)));
        expect(k.codes.every((c) => Math.abs(c) <= maxCodeOf(bits) && (bits > 1 || c !== 0))).toBe(true);
        expect(k.margins!.every((m) => m >= 0 && Number.isFinite(m))).toBe(true);
      }
      const sample = tf.slice(x, 0, 16);
      const first = q.kernels[0]!;
      const error = firstLayerError(sample, first, floatFirst);
      expect(error).toBeLessThan(firstLayerError(sample, qRtn.kernels[0]!, floatFirst));
      // Coordinate optimality on the final scale: every other code of every weight gives at least the same error.
      const levels = dequantize(first);
      for (let k = 0; k < first.codes.length; k++) {
        for (let code = -maxCodeOf(bits); code <= maxCodeOf(bits); code++) {
          if (code === first.codes[k] || (bits === 1 && code === 0)) continue;
          const moved = levels.slice();
          moved[k] = Math.fround(code * first.scales[k % first.scales.length]!);
          expect(firstLayerError(sample, first, floatFirst, moved)).toBeGreaterThanOrEqual(error * (1 - 1e-5));
        }
      }
      expect(() => quantizedGrid(q)).not.toThrow();
      tf.dispose([x, sample]);
      [float, rtn, model].forEach((m) => m.dispose());
    });
  }

  it('brings the network\'s output closer to the float network\'s than round to nearest, ternary and binary', () => {
    for (const bits of [1, 2]) {
      const x = images(10 + bits);
      const float = namedConvSeq(5);
      const rtn = namedConvSeq(5);
      quantizeModel(rtn, { bits });
      const model = namedConvSeq(5);
      quantizeCalibrated(model, x, { bits });
      const gap = (m: tfl.LayersModel) => tf.tidy(() => tf.sum(tf.square(tf.sub(m.predict(x) as tf.Tensor, float.predict(x) as tf.Tensor))).dataSync()[0]!);
      expect(gap(model)).toBeLessThan(gap(rtn));
      tf.dispose(x);
      [float, rtn, model].forEach((m) => m.dispose());
    }
  });

  it('leaves biases and BN as they were, and is deterministic', () => {
    const x = images(7);
    const [a, b, float] = [namedConvSeq(2), namedConvSeq(2), namedConvSeq(2)];
    const qa = quantizeCalibrated(a, x, { bits: 3, rounds: 2 });
    const qb = quantizeCalibrated(b, x, { bits: 3, rounds: 2 });
    expect(qa.kernels.map((k) => Array.from(k.codes))).toEqual(qb.kernels.map((k) => Array.from(k.codes)));
    const kernels = new Set(qa.kernels.map((k) => k.name));
    a.weights.forEach((w, i) => {
      if (!kernels.has(w.name)) expect(Array.from(w.read().dataSync())).toEqual(Array.from(float.weights[i]!.read().dataSync()));
    });
    tf.dispose(x);
    [a, b, float].forEach((m) => m.dispose());
  });

  it('names the field of a bad option', () => {
    const model = namedConvSeq(1);
    const x = images(1);
    expect(() => quantizeCalibrated(model, x, { bits: 2, samples: 0 })).toThrow(/quantizeCalibrated\.samples/);
    expect(() => quantizeCalibrated(model, x, { bits: 2, rounds: -1 })).toThrow(/quantizeCalibrated\.rounds/);
    expect(() => quantizeCalibrated(model, x, { bits: 2, sample: 3 } as never)).toThrow(/sample/);
    expect(() => quantizeCalibrated(model, x, { bits: 9 })).toThrow(/bits/);
    expect(() => quantizeCalibrated(model, [1, 2] as never, { bits: 2 })).toThrow(/x must be a tensor/);
    tf.dispose(x);
    model.dispose();
  });
});
