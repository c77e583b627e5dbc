import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, float16Round, loadPackedModel, packModel, packTensors, packedCodeBytes, quantizeModel, quantizedGrid, roundForPacking, unpackTensors } from '../src/index.js';
import { float16Bits, float16Value } from '../src/quantize/pack.js';
import type { CodedTensor, PackOptions, PackedTensor } from '../src/index.js';
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

const bitsOf = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const f16 = (v: Float32Array) => v.map(float16Round);
/** The tensors as a float16 file holds them: scales and values rounded to float16. */
const toFloat16 = (tensors: PackedTensor[]): PackedTensor[] => tensors.map((t) => ('codes' in t ? { ...t, scales: f16(t.scales) } : { ...t, values: f16(t.values) }));
const OPTIONS: readonly PackOptions[] = [{}, { names: false }, { float16: true }, { names: false, float16: true }];

describe('packTensors / unpackTensors', () => {
  for (let bits = 1; bits <= 8; bits++) {
    for (const options of OPTIONS) {
      it(`round-trips ${bits}-bit codes, scales and float tensors bit for bit, ${JSON.stringify(options)} (seeded fast-check)`, () => {
        fc.assert(
          fc.property(fc.array(fc.oneof(codedTensor(bits), floatTensor), { minLength: 0, maxLength: 4 }), (raw) => {
            const tensors = options.float16 === true ? toFloat16(raw) : raw;
            const bytes = packTensors(tensors, options);
            const back = unpackTensors(bytes);
            expect(back.length).toBe(tensors.length);
            back.forEach((t, i) => {
              const o = tensors[i]!;
              expect(t.name).toBe(options.names === false ? '' : o.name);
              expect(t.shape).toEqual(o.shape);
              if ('codes' in o) {
                expect('codes' in t && t.bits).toBe(bits);
                expect(Array.from((t as CodedTensor).codes)).toEqual(Array.from(o.codes));
                expect(bitsOf((t as CodedTensor).scales).equals(bitsOf(o.scales))).toBe(true);
              } else {
                expect(bitsOf((t as { values: Float32Array }).values).equals(bitsOf(o.values))).toBe(true);
              }
            });
          }),
          { seed: 26 + bits, numRuns: 40 },
        );
      });
    }
  }

  it('stores dims as varints: a dimension of 2^32 − 1 and of 0 round-trip', () => {
    const shape = [0, 127, 128, 16383, 16384, 2 ** 21, 0xffffffff];
    const bytes = packTensors([{ name: 'e', shape, values: new Float32Array(0) }]);
    // Header 16, name 2, rank 1, dims 1 + 1 + 2 + 2 + 3 + 4 + 5, kind 1.
    expect(bytes.length).toBe(16 + 2 + 1 + 18 + 1);
    expect(unpackTensors(bytes)[0]!.shape).toEqual(shape);
  });

  it('float16: every float16 value round-trips, midpoints round to even, overflow is infinite', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = float16Value(h);
      if (Number.isNaN(v)) continue;
      expect(float16Bits(v)).toBe(h);
      // The float32 halfway to the next float16 of the same sign rounds to the even one of the two.
      if ((h & 0x7fff) < 0x7bff) {
        const mid = Math.fround((v + float16Value(h + 1)) / 2);
        expect(float16Bits(mid)).toBe(h & 1 ? h + 1 : h);
      }
    }
    expect(float16Round(65520)).toBe(Infinity);
    expect(float16Round(65519)).toBe(65504);
    expect(float16Round(2 ** -25)).toBe(0);
    expect(float16Round(Math.fround(2 ** -25 * 1.0001))).toBe(2 ** -24);
    expect(Object.is(float16Round(-0), -0)).toBe(true);
  });

  it('float16 refuses a value it cannot hold exactly, naming it', () => {
    expect(() => packTensors([{ name: 'b', shape: [2], values: Float32Array.of(1, 0.1) }], { float16: true })).toThrow(/tensors\[0\] \("b"\)\.values\[1\] = .* is not a float16 value/);
    expect(() => packTensors([{ name: 'k', shape: [2], bits: 2, codes: Int8Array.of(1, 0), scales: Float32Array.of(0.1) }], { float16: true })).toThrow(/\.scales\[0\] = .* is not a float16 value/);
  });

  it('packs binary 8, ternary 5, 3-bit 8/3 and 4-bit 2 codes per byte', () => {
    expect([1, 2, 3, 4, 8].map((bits) => packedCodeBytes(40, bits))).toEqual([5, 8, 15, 20, 40]);
  });

  for (const options of OPTIONS) it(`rejects truncated, corrupted, foreign and future files with a clear error, ${JSON.stringify(options)}`, () => {
    const bytes = packTensors([{ name: 'd/kernel', shape: [4, 2], bits: 2, codes: Int8Array.of(1, 0, -1, 1, 0, 0, 1, -1), scales: Float32Array.of(0.5, 0.25) }, { name: 'd/bias', shape: [2], values: Float32Array.of(1, 2) }], options);
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
    const flags = bytes.slice();
    flags[5]! |= 0x40;
    expect(() => unpackTensors(flags)).toThrow(/unknown flags 0x4\d/);
    // Every truncation is refused with a message, never read as a smaller file.
    for (let n = 0; n < bytes.length; n++) expect(() => unpackTensors(bytes.subarray(0, n))).toThrow(/too short|truncated/);
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

  /** namedConvSeq with random biases and BN parameters and statistics (not float16 values). */
  const busyModel = (seed: number) => {
    const model = namedConvSeq(seed);
    model.weights.forEach((w, i) => {
      if (w.name.includes('kernel')) return;
      const positive = /variance|gamma/.test(w.name);
      tf.tidy(() => {
        w.write(tf.randomUniform(w.shape as number[], positive ? 0.5 : -1, positive ? 2 : 1, 'float32', seed * 100 + i));
      });
    });
    return model;
  };

  for (let bits = 1; bits <= 8; bits++) {
    it(`${bits} bits: roundForPacking then packModel({ names: false, float16: true }) reloads bit for bit; q stays consistent`, async () => {
      const { x, y } = toyData(32, [6, 6, 1], bits);
      const model = busyModel(bits);
      const q = quantizeModel(model, { bits });
      expect(() => packModel(model, q, { float16: true })).toThrow(/packModel: .* is not a float16 value: call roundForPacking\(model, q\) first/);
      const report = roundForPacking(model, q);
      expect(report.map((r) => r.name)).toEqual(model.weights.map((w) => w.name));
      expect(report.some((r) => r.changed > 0)).toBe(true);
      expect(report.filter((r) => r.scalesChanged !== undefined).length).toBe(3);
      for (const k of q.kernels) expect(bitsOf(k.scales).equals(bitsOf(f16(k.scales)))).toBe(true);
      // Idempotent, and q still describes the model: packing without float16 works too.
      expect(roundForPacking(model, q).every((r) => r.changed === 0 && (r.scalesChanged ?? 0) === 0)).toBe(true);
      expect(() => packModel(model, q)).not.toThrow();
      const want = (model.predict(x) as tf.Tensor).dataSync();
      for (const options of OPTIONS) {
        const bytes = packModel(model, q, options);
        const again = await loadPackedModel(options.names === false ? () => namedConvSeq(99) : model.toJSON(), bytes);
        const got = (again.predict(x) as tf.Tensor).dataSync();
        expect(bitsOf(got).equals(bitsOf(want))).toBe(true);
        again.dispose();
      }
      model.dispose();
      tf.dispose([x, y]);
    });
  }

  it('refuses, before changing anything, a value beyond float16; checks option types', () => {
    const model = namedConvSeq(3);
    const q = quantizeModel(model, { bits: 2 });
    model.getLayer('q_dense').setWeights([model.getLayer('q_dense').getWeights()[0]!, tf.fill([3], 1e6)]);
    const before = model.getWeights().map((t) => t.dataSync().slice());
    const scales = q.kernels.map((k) => k.scales.slice());
    expect(() => roundForPacking(model, q)).toThrow(/roundForPacking: q_dense\/bias\S*\[0\] = 1000000 is beyond float16's ±65504/);
    model.getWeights().forEach((t, i) => expect(bitsOf(t.dataSync() as Float32Array).equals(bitsOf(before[i] as Float32Array))).toBe(true));
    q.kernels.forEach((k, i) => expect(bitsOf(k.scales).equals(bitsOf(scales[i]!))).toBe(true));
    expect(() => packModel(model, q, { names: 'no' as unknown as boolean })).toThrow(/packModel\.names must be a boolean/);
    expect(() => packModel(model, q, { float32: true } as never)).toThrow(/float32/);
    model.dispose();
  });

  it('a file without names loaded into a model of other shapes is refused, naming the tensor and both shapes', async () => {
    const model = namedConvSeq(2);
    const q = quantizeModel(model, { bits: 2 });
    const bytes = packModel(model, q, { names: false });
    const wider = () =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization(),
          tfl.layers.averagePooling2d({ poolSize: 2 }),
          tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }),
          tfl.layers.batchNormalization(),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    await expect(loadPackedModel(wider, bytes)).rejects.toThrow(/the file holds no names, so its tensors are assigned in the model's weights order, and tensor 0 has shape \[3, 3, 1, 3\] where the model's weight 0 \(".*kernel.*"\) has \[3, 3, 1, 4\]/);
    await expect(loadPackedModel(() => createMnistNet(), bytes)).rejects.toThrow(/the file holds 13 tensors, the model has 31 weights/);
    model.dispose();
  });
});
