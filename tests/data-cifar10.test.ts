import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CIFAR10_CLASSES,
  cifar10ChannelMeans,
  cifar10ToTensors,
  loadCifar10,
  parseCifar10Batch,
} from '../src/node/data/cifar10.js';
import type { Cifar10Data, Cifar10Split } from '../src/node/data/cifar10.js';

const RECORD = 3073; // 1 label byte + 3 planes of 32·32 = 1024 bytes
const IMAGE = 3072;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

/**
 * Value of channel `ch` (0 red, 1 green, 2 blue) at row `r`, column `c` of synthetic image `id`: every
 * (image, channel, pixel) triple gets its own pattern, so a swapped plane, a transposed image or an
 * off-by-one record shows up as a wrong value.
 */
function pixel(id: number, ch: number, r: number, c: number): number {
  return (id * 37 + ch * 85 + r * 7 + c * 3) % 256;
}

/** One record in the official layout: label, then the red, green and blue planes, each row-major. */
function record(id: number, label: number): Uint8Array {
  const out = new Uint8Array(RECORD);
  out[0] = label;
  for (let ch = 0; ch < 3; ch++) {
    for (let r = 0; r < 32; r++) {
      for (let c = 0; c < 32; c++) out[1 + ch * 1024 + r * 32 + c] = pixel(id, ch, r, c);
    }
  }
  return out;
}

/** The expected channels-last image, built straight from `pixel` (independent of the record layout). */
function hwc(id: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < 32; r++) {
    for (let c = 0; c < 32; c++) {
      for (let ch = 0; ch < 3; ch++) out.push(pixel(id, ch, r, c));
    }
  }
  return out;
}

/** A batch file of records with the given image ids and labels. */
function batch(items: ReadonlyArray<readonly [id: number, label: number]>): Uint8Array {
  const out = new Uint8Array(items.length * RECORD);
  items.forEach(([id, label], k) => out.set(record(id, label), k * RECORD));
  return out;
}

function image(split: Cifar10Split, k: number): number[] {
  return Array.from(split.images.subarray(k * IMAGE, (k + 1) * IMAGE));
}

describe('parseCifar10Batch', () => {
  it('moves each plane value to its channels-last position', () => {
    const bytes = new Uint8Array(2 * RECORD);
    bytes[0] = 3;
    // record 0, pixel (row 1, column 2): plane index 1·32 + 2 = 34
    bytes[1 + 34] = 200; // red
    bytes[1 + 1024 + 34] = 100; // green
    bytes[1 + 2048 + 34] = 50; // blue
    // record 1, last pixel (31, 31): plane index 1023, blue only
    bytes[RECORD] = 9;
    bytes[RECORD + 1 + 2048 + 1023] = 7;
    const { images, labels, count } = parseCifar10Batch(bytes);
    expect(count).toBe(2);
    expect(Array.from(labels)).toEqual([3, 9]);
    expect(images.length).toBe(2 * IMAGE);
    // channels-last index of (r, c, ch) is (r·32 + c)·3 + ch: (1, 2) → 102, 103, 104
    expect(Array.from(images.subarray(102, 105))).toEqual([200, 100, 50]);
    // record 1, (31, 31, blue) → 3072 + 1023·3 + 2 = 6143, the very last byte
    expect(images[6143]).toBe(7);
    // nothing else is set
    const nonzero = Array.from(images.entries()).filter(([, v]) => v !== 0).map(([i]) => i);
    expect(nonzero).toEqual([102, 103, 104, 6143]);
  });

  it('converts every pixel of several records exactly', () => {
    const { images, labels, count } = parseCifar10Batch(batch([[0, 0], [1, 5], [2, 9]]));
    expect(count).toBe(3);
    expect(Array.from(labels)).toEqual([0, 5, 9]);
    expect(Array.from(images)).toEqual([...hwc(0), ...hwc(1), ...hwc(2)]);
  });

  it('reads a Buffer and a view at a nonzero offset; an empty input has no records', () => {
    const file = batch([[4, 2]]);
    const padded = new Uint8Array(file.length + 5);
    padded.set(file, 5);
    const fromView = parseCifar10Batch(padded.subarray(5));
    expect(Array.from(fromView.labels)).toEqual([2]);
    expect(image(fromView, 0)).toEqual(hwc(4));
    expect(image(parseCifar10Batch(Buffer.from(file)), 0)).toEqual(hwc(4));
    const empty = parseCifar10Batch(new Uint8Array(0));
    expect(empty.count).toBe(0);
    expect(empty.images.length).toBe(0);
  });

  it('rejects a length that is not a multiple of 3073, quoting it', () => {
    expect(() => parseCifar10Batch(new Uint8Array(3074))).toThrow(RangeError);
    expect(() => parseCifar10Batch(new Uint8Array(3074))).toThrow(
      'parseCifar10Batch: input length 3074 is not a multiple of 3073 (1 label byte + 3072 pixel bytes per record); ' +
        '1 whole records and 1 bytes left over',
    );
    expect(() => parseCifar10Batch(new Uint8Array(3072))).toThrow('input length 3072 is not a multiple of 3073');
  });

  it('rejects a label outside 0..9, quoting it and the record', () => {
    const bytes = batch([[0, 1], [1, 10]]);
    expect(() => parseCifar10Batch(bytes)).toThrow(RangeError);
    expect(() => parseCifar10Batch(bytes)).toThrow('parseCifar10Batch: record 1 (byte 3073) has label 10, outside 0..9');
    expect(() => parseCifar10Batch(batch([[0, 255]]))).toThrow('record 0 (byte 0) has label 255');
  });

  it('rejects a value that is not a Uint8Array with a TypeError', () => {
    const notBytes = [1, 2, 3] as unknown as Uint8Array;
    expect(() => parseCifar10Batch(notBytes)).toThrow(TypeError);
    expect(() => parseCifar10Batch(notBytes)).toThrow('expected a Uint8Array, got [object Array]');
  });

  it('names the classes in the official label order', () => {
    expect([...CIFAR10_CLASSES]).toEqual([
      'airplane',
      'automobile',
      'bird',
      'cat',
      'deer',
      'dog',
      'frog',
      'horse',
      'ship',
      'truck',
    ]);
  });
});

describe('loadCifar10 on small files written here', () => {
  let dir = '';
  // train: batches of 2, 1, 3, 1 and 2 records (9 in all), image ids 0..8; test: 4 records, ids 100..103
  const trainItems: Array<[number, number]> = [[0, 6], [1, 9], [2, 9], [3, 4], [4, 1], [5, 1], [6, 2], [7, 7], [8, 8]];
  const trainSizes = [2, 1, 3, 1, 2];
  const testItems: Array<[number, number]> = [[100, 3], [101, 8], [102, 0], [103, 5]];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tfjs-rso-cifar10-'));
    let start = 0;
    for (let b = 0; b < 5; b++) {
      const size = trainSizes[b] as number;
      await writeFile(join(dir, TRAIN_FILES[b] as string), batch(trainItems.slice(start, start + size)));
      start += size;
    }
    await writeFile(join(dir, 'test_batch.bin'), batch(testItems));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('concatenates the five train batches in order and reads the test batch', async () => {
    const data = await loadCifar10({ dir });
    expect([data.height, data.width, data.channels]).toEqual([32, 32, 3]);
    expect(data.train.count).toBe(9);
    expect(data.train.images.length).toBe(9 * IMAGE);
    expect(Array.from(data.train.labels)).toEqual(trainItems.map(([, label]) => label));
    expect(Array.from(data.train.images)).toEqual(trainItems.flatMap(([id]) => hwc(id)));
    expect(data.test.count).toBe(4);
    expect(Array.from(data.test.labels)).toEqual([3, 8, 0, 5]);
    expect(Array.from(data.test.images)).toEqual(testItems.flatMap(([id]) => hwc(id)));
  });

  it('keeps the first examples across batch boundaries with limits, and rejects bad limits', async () => {
    const data = await loadCifar10({ dir, trainLimit: 4, testLimit: 1 });
    // 4 = both records of batch 1, the one of batch 2, the first of batch 3
    expect(data.train.count).toBe(4);
    expect(data.train.images.length).toBe(4 * IMAGE);
    expect(Array.from(data.train.labels)).toEqual([6, 9, 9, 4]);
    expect(image(data.train, 3)).toEqual(hwc(3));
    expect(data.test.count).toBe(1);
    expect(Array.from(data.test.labels)).toEqual([3]);
    expect(image(data.test, 0)).toEqual(hwc(100));

    await expect(loadCifar10({ dir, trainLimit: 10 })).rejects.toThrow(
      'loadCifar10: trainLimit 10 exceeds the 9 train examples in the files',
    );
    await expect(loadCifar10({ dir, testLimit: 0 })).rejects.toThrow(
      'loadCifar10: options.testLimit must be a positive integer, got 0',
    );
    await expect(loadCifar10({ dir, trainLimit: 1.5 })).rejects.toThrow(RangeError);
    await expect(loadCifar10({ dir: '' })).rejects.toThrow('options.dir must be a non-empty string, got ""');
    await expect(loadCifar10({ dir: '' })).rejects.toThrow(TypeError);
  });

  it('names a missing file and the converter command', async () => {
    const partial = await mkdtemp(join(tmpdir(), 'tfjs-rso-cifar10-partial-'));
    try {
      for (const name of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_5.bin', 'test_batch.bin']) {
        await writeFile(join(partial, name), batch([[0, 0]]));
      }
      const missing = join(partial, 'data_batch_4.bin');
      await expect(loadCifar10({ dir: partial })).rejects.toThrow(`loadCifar10: ${missing} does not exist.`);
      await expect(loadCifar10({ dir: partial })).rejects.toThrow('npm run cifar:convert');
      // a missing file is an error even when a limit would not need it
      await expect(loadCifar10({ dir: partial, trainLimit: 1 })).rejects.toThrow('data_batch_4.bin does not exist');
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  });

  it('rejects a bad file length or label, naming the file', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'tfjs-rso-cifar10-bad-'));
    try {
      for (const name of TRAIN_FILES) await writeFile(join(bad, name), batch([[0, 0]]));
      await writeFile(join(bad, 'test_batch.bin'), new Uint8Array(RECORD + 10));
      await expect(loadCifar10({ dir: bad })).rejects.toThrow(
        `loadCifar10: ${join(bad, 'test_batch.bin')}: length 3083 is not a multiple of 3073`,
      );
      await writeFile(join(bad, 'test_batch.bin'), batch([[0, 0]]));
      await writeFile(join(bad, 'data_batch_3.bin'), batch([[0, 1], [1, 12]]));
      await expect(loadCifar10({ dir: bad })).rejects.toThrow(RangeError);
      await expect(loadCifar10({ dir: bad })).rejects.toThrow(
        `loadCifar10: ${join(bad, 'data_batch_3.bin')}: record 1 (byte 3073) has label 12, outside 0..9`,
      );
      // records past the limit are not decoded, so the bad label in record 1 of batch 3 is not reached
      const upToGood = await loadCifar10({ dir: bad, trainLimit: 3 });
      expect(Array.from(upToGood.train.labels)).toEqual([0, 0, 1]);
      // with a limit that the first two batches satisfy, batch 3 is not read at all (its bad length goes unseen)
      await writeFile(join(bad, 'data_batch_3.bin'), new Uint8Array(5));
      await expect(loadCifar10({ dir: bad })).rejects.toThrow('data_batch_3.bin: length 5 is not a multiple of 3073');
      const limited = await loadCifar10({ dir: bad, trainLimit: 2 });
      expect(limited.train.count).toBe(2);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

/** A one-image-per-colour split for the means and tensor tests (no files needed). */
function solidSplit(colours: ReadonlyArray<readonly [number, number, number]>, labels: number[]): Cifar10Split {
  const images = new Uint8Array(colours.length * IMAGE);
  colours.forEach(([r, g, b], k) => {
    for (let p = 0; p < 1024; p++) images.set([r, g, b], k * IMAGE + p * 3);
  });
  return { images, labels: Uint8Array.from(labels), count: colours.length };
}

function dataOf(train: Cifar10Split, test: Cifar10Split): Cifar10Data {
  return { train, test, height: 32, width: 32, channels: 3 };
}

describe('cifar10ChannelMeans', () => {
  it('averages each channel of the train split over all its pixels, on the [0, 1] scale', () => {
    // image 0 is (255, 51, 0) everywhere, image 1 is (0, 102, 255):
    // red (255 + 0) / 2 / 255 = 0.5, green (51 + 102) / 2 / 255 = 0.3, blue (0 + 255) / 2 / 255 = 0.5
    const train = solidSplit([[255, 51, 0], [0, 102, 255]], [0, 1]);
    // one pixel of image 1 changed: green gains (204 − 102) / (2 · 1024) / 255 = 0.2 / 1024
    train.images[IMAGE + 500 * 3 + 1] = 204;
    const test = solidSplit([[255, 255, 255]], [2]); // must not count
    const [red, green, blue] = cifar10ChannelMeans(dataOf(train, test));
    expect(red).toBeCloseTo(0.5, 12);
    expect(green).toBeCloseTo(0.3 + 0.2 / 1024, 12);
    expect(blue).toBeCloseTo(0.5, 12);
  });

  it('rejects an empty training split', () => {
    const empty = { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 };
    expect(() => cifar10ChannelMeans(dataOf(empty, empty))).toThrow(RangeError);
    expect(() => cifar10ChannelMeans(dataOf(empty, empty))).toThrow('cifar10ChannelMeans: the training split is empty');
  });
});

describe('cifar10ToTensors', () => {
  it('scales by x/255 − channel mean and one-hot encodes labels, with no leaked tensors', async () => {
    await tf.setBackend('cpu');
    const split = parseCifar10Batch(batch([[0, 3], [1, 0], [2, 9]]));
    const means = [0.49, 0.48, 0.45] as const;
    const before = tf.memory().numTensors;
    const { xs, ys } = cifar10ToTensors(split, { means });
    expect(xs.shape).toEqual([3, 32, 32, 3]);
    expect(xs.dtype).toBe('float32');
    expect(ys.shape).toEqual([3, 10]);
    expect(ys.dtype).toBe('float32');
    const x = xs.dataSync();
    // image 1, row 4, column 5: index 3072 + (4·32 + 5)·3 + ch; pixel(1, ch, 4, 5) = (37 + 85·ch + 28 + 15) % 256
    // = 80, 165, 250 for red, green, blue
    const at = IMAGE + (4 * 32 + 5) * 3;
    expect(x[at]).toBeCloseTo(80 / 255 - 0.49, 6);
    expect(x[at + 1]).toBeCloseTo(165 / 255 - 0.48, 6);
    expect(x[at + 2]).toBeCloseTo(250 / 255 - 0.45, 6);
    // and every value, against the independent channels-last reference
    const expected = [...hwc(0), ...hwc(1), ...hwc(2)].map((v, i) => v / 255 - (means[i % 3] as number));
    const maxError = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - (x[i] as number))), 0);
    expect(maxError).toBeLessThan(1e-6);
    const y = Array.from(ys.dataSync());
    expect(y.slice(0, 10)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(y.slice(10, 20)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(y.slice(20, 30)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    tf.dispose([xs, ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('defaults to no centring, and the test split uses the train means', async () => {
    await tf.setBackend('cpu');
    const train = solidSplit([[255, 51, 0], [0, 102, 255]], [0, 1]);
    const test = solidSplit([[51, 51, 51]], [7]);
    const means = cifar10ChannelMeans(dataOf(train, test)); // [0.5, 0.3, 0.5]
    const before = tf.memory().numTensors;
    const plain = cifar10ToTensors(test);
    const centred = cifar10ToTensors(test, { means });
    // 51 / 255 = 0.2 in every channel; centred: 0.2 − 0.5, 0.2 − 0.3, 0.2 − 0.5
    expect(Array.from(plain.xs.dataSync().subarray(0, 3)).map((v) => Number(v.toFixed(6)))).toEqual([0.2, 0.2, 0.2]);
    expect(Array.from(centred.xs.dataSync().subarray(0, 3)).map((v) => Number(v.toFixed(6)))).toEqual([-0.3, -0.1, -0.3]);
    expect(Array.from(centred.ys.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    tf.dispose([plain.xs, plain.ys, centred.xs, centred.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad means, mismatched arrays and bad labels without creating tensors', async () => {
    await tf.setBackend('cpu');
    const split = solidSplit([[1, 2, 3]], [0]);
    const before = tf.memory().numTensors;
    expect(() => cifar10ToTensors(split, { means: [0.5, Number.NaN, 0.5] })).toThrow(
      'cifar10ToTensors: options.means must be three finite numbers [red, green, blue], got [0.5,null,0.5]',
    );
    const two = [0.5, 0.5] as unknown as readonly [number, number, number];
    expect(() => cifar10ToTensors(split, { means: two })).toThrow(RangeError);
    expect(() => cifar10ToTensors({ ...split, count: 2 })).toThrow(
      'cifar10ToTensors: expected 6144 pixels for 2 images of 32x32x3, got 3072',
    );
    expect(() => cifar10ToTensors({ ...split, labels: new Uint8Array([10]) })).toThrow(
      'cifar10ToTensors: label 10 of example 0 is outside 0..9',
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

// The converted JPEG copy (examples/benchmarks/convert-cifar10.ts), when it has been built on this machine.
const cacheDir = fileURLToPath(new URL('../.cache/cifar10/', import.meta.url));
const hasTestBatch = existsSync(join(cacheDir, 'test_batch.bin'));
const hasAllBatches = hasTestBatch && TRAIN_FILES.every((name) => existsSync(join(cacheDir, name)));

function histogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label] = (counts[label] as number) + 1;
  return counts;
}

describe('the converted CIFAR-10 (JPEG copy) in .cache/cifar10', () => {
  it.runIf(hasTestBatch)('has 10,000 test records, 1,000 per class', async () => {
    const test = parseCifar10Batch(await readFile(join(cacheDir, 'test_batch.bin')));
    expect(test.count).toBe(10_000);
    expect(histogram(test.labels)).toEqual(new Array(10).fill(1000));
  });

  it.runIf(hasAllBatches)('loads 50,000 train records, 5,000 per class and 1,000 per class in each batch', async () => {
    const data = await loadCifar10({ dir: cacheDir, testLimit: 1 });
    expect(data.train.count).toBe(50_000);
    expect(histogram(data.train.labels)).toEqual(new Array(10).fill(5000));
    for (let b = 0; b < 5; b++) {
      expect(histogram(data.train.labels.subarray(b * 10_000, (b + 1) * 10_000))).toEqual(new Array(10).fill(1000));
    }
    // the usual CIFAR-10 train means are about 0.491, 0.482, 0.447; JPEG compression moves them only slightly
    const means = cifar10ChannelMeans(data);
    expect(means[0]).toBeCloseTo(0.491, 2);
    expect(means[1]).toBeCloseTo(0.482, 2);
    expect(means[2]).toBeCloseTo(0.447, 2);
  });
});
