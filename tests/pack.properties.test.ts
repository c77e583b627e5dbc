import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, loadPackedModel, packModel, packTensors, packedCodeBytes, quantizeModel, quantizedGrid, unpackTensors } from '../src/index.js';
import type { CodedTensor, PackedTensor } from '../src/index.js';
import { createMnistNet } from '../src/paper/index.js';
import { toyData, useCpu } from './helpers.js';
import { namedConvSeq } from './quantize-models.js';

beforeAll(useCpu);

const maxCodeOf = (bits: number) => (bits === 1 ? 1 : 2 ** (bits - 1) - 1);

/** A coded tensor of `bits` bits: shape [rows, channels], codes in range, per-tensor or per-channel scales. */
const codedTensor = (bits: number) =>
  fc.record({ rows: fc.integer({ min: 0, max: 9 }), channels: fc.integer({ min: 1, max: 5 }), perChannel: fc.boolean(), seed: fc.integer() }).chain(({ rows, channels, perChannel }) =>
    fc.record({
      codes: fc.array(bits === 1 ? fc.constantFrom(-1, 1) : fc.integer({ min: -maxCodeOf(bits), max: maxCodeOf(bits) }), { minLength: rows * channels, maxLength: rows * channels }),
      scales: fc.array(fc.float({ min: Math.fround(1e-6), max: 10, noNaN: true }), { minLength: perChannel ? channels : 1, maxLength: perChannel ? channels : 1 }),
    }).map(({ codes, scales }): CodedTensor => ({ name: `t${bits}/kernel`, shape: [rows, channels], bits, codes: Int8Array.from(codes), scales: Float32Array.from(scales) })),
  );

const floatTensor = fc.array(fc.float({ noNaN: false }), { maxLength: 12 }).map((v): PackedTensor => ({ name: 'bn/moving_mean', shape: [v.length], values: Float32Array.from(v) }));

describe('packTensors / unpackTensors', () => {
  for (let bits = 1; bits <= 8; bits++) {
    it(`round-trips ${bits}-bit codes, scales and float tensors bit for bit (seeded fast-check)`, () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(codedTensor(bits), floatTensor), { minLength: 0, maxLength: 4 }), (tensors) => {
          const bytes = packTensors(tensors);
          const back = unpackTensors(bytes);
          expect(back.length).toBe(tensors.length);
          back.forEach((t, i) => {
            const o = tensors[i]!;
            expect(t.name).toBe(o.name);
            expect(t.shape).toEqual(o.shape);
            if ('codes' in o) {
              expect('codes' in t && t.bits).toBe(bits);
              expect(Array.from((t as CodedTensor).codes)).toEqual(Array.from(o.codes));
              expect(Buffer.from((t as CodedTensor).scales.buffer).equals(Buffer.from(o.scales.buffer))).toBe(true);
            } else {
              expect(Buffer.from((t as { values: Float32Array }).values.buffer).equals(Buffer.from(o.values.buffer))).toBe(true);
            }
          });
        }),
        { seed: 26 + bits, numRuns: 60 },
      );
    });
  }

  it('packs binary 8, ternary 5, 3-bit 8/3 and 4-bit 2 codes per byte', () => {
    expect([1, 2, 3, 4, 8].map((bits) => packedCodeBytes(40, bits))).toEqual([5, 8, 15, 20, 40]);
  });

  it('rejects truncated, corrupted, foreign and future files with a clear error', () => {
    const bytes = packTensors([{ name: 'd/kernel', shape: [4, 2], bits: 2, codes: Int8Array.of(1, 0, -1, 1, 0, 0, 1, -1), scales: Float32Array.of(0.5, 0.25) }, { name: 'd/bias', shape: [2], values: Float32Array.of(1, 2) }]);
    expect(() => unpackTensors(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated: \d+ bytes of \d+/);
    expect(() => unpackTensors(bytes.subarray(0, 9))).toThrow(/too short/);
    const flipped = bytes.slice();
    flipped[flipped.length - 2]! ^= 0x10;
    expect(() => unpackTensors(flipped)).toThrow(/checksum does not match: the file is corrupted/);
    const foreign = bytes.slice();
    foreign[0] = 0x7b;
    expect(() => unpackTensors(foreign)).toThrow(/not a packed weights file/);
    const future = bytes.slice();
    future[4] = 9;
    expect(() => unpackTensors(future)).toThrow(/format version 9 is not supported/);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => unpackTensors(longer)).toThrow(/1 unexpected bytes after/);
  });

  it('names the tensor and field of bad input', () => {
    expect(() => packTensors([{ name: 'k', shape: [2], bits: 2, codes: Int8Array.of(2, 0), scales: Float32Array.of(1) }])).toThrow(/tensors\[0\] \("k"\)\.codes\[0\] = 2 is outside the 2-bit codes/);
    expect(() => packTensors([{ name: 'k', shape: [2], bits: 1, codes: Int8Array.of(0, 1), scales: Float32Array.of(1) }])).toThrow(/codes\[0\] = 0 is outside the 1-bit codes −1…1 without 0/);
    expect(() => packTensors([{ name: 'k', shape: [2], bits: 9, codes: Int8Array.of(0, 1), scales: Float32Array.of(1) }])).toThrow(/\.bits must be an integer in 1…8, got 9/);
    expect(() => packTensors([{ name: 'k', shape: [3, 2], bits: 3, codes: new Int8Array(6), scales: new Float32Array(3) }])).toThrow(/\.scales must hold 1 scale or 2 \(one per output channel\), got 3/);
    expect(() => packTensors([{ name: 'b', shape: [3], values: new Float32Array(2) }])).toThrow(/tensors\[0\] \("b"\)\.values holds 2 values, its shape \[3\] 3/);
  });
});

describe('packModel and loadPackedModel', () => {
  afterAll(useCpu);
  for (const backend of ['cpu', 'wasm']) {
    it(`reload predictions equal the repaired quantized model's bit for bit on ${backend}, from model.toJSON() and from a builder`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const { x, y } = toyData(64, [6, 6, 1], 3);
      const model = namedConvSeq(8);
      const q = quantizeModel(model, { bits: 3 });
      await new RSOOptimizer({ seed: 4, grid: quantizedGrid(q) }).fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 32, maxSteps: 60, verbose: 0 });
      const bytes = packModel(model, q);
      const want = (model.predict(x) as tf.Tensor).dataSync();
      for (const again of [await loadPackedModel(model.toJSON(), bytes), await loadPackedModel(() => namedConvSeq(1), bytes)]) {
        const got = (again.predict(x) as tf.Tensor).dataSync();
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
        again.dispose();
      }
      // A weight moved off the grid is named.
      const k = model.getLayer('q_conv1').getWeights()[0]!;
      model.getLayer('q_conv1').setWeights([tf.add(k, 1e-3)]);
      expect(() => packModel(model, q)).toThrow(/packModel: q_conv1\/kernel\S*\[0\] = .* is not on its grid/);
      await expect(loadPackedModel(() => createMnistNet(), bytes)).rejects.toThrow(/the file holds 13 tensors, the model has 31 weights/);
      model.dispose();
      tf.dispose([x, y]);
    });
  }
});
